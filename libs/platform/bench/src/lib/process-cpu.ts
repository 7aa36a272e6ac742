import { readFileSync, readdirSync } from 'node:fs';

/** Processes whose CPU is counted together under one name, e.g. `{ postgres: { pid, withDescendants: true } }`. */
export interface CpuGroup {
  readonly pids: readonly number[];
  /** Also count the processes these spawned (Postgres backends), including those that ended since. */
  readonly withDescendants?: boolean;
}

interface Stat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly own: number;
  /** cutime + cstime: children that ended and were waited for. */
  readonly reaped: number;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks; 100 on every mainstream kernel config. */
const TICKS_PER_SECOND = 100;

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i - 3]);
  return { ppid: n(4), own: n(14) + n(15), reaped: n(16) + n(17) };
}

function allStats(): Map<number, Stat> {
  const stats = new Map<number, Stat>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  return stats;
}

/** CPU ticks used so far by the group: its processes, and with descendants their live and reaped children. */
function groupTicks(group: CpuGroup, stats: Map<number, Stat>): number {
  let ticks = 0;
  const counted = new Set<number>();
  const queue = [...group.pids];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    const stat = stats.get(pid);
    if (!stat || counted.has(pid)) continue;
    counted.add(pid);
    ticks += stat.own + (group.withDescendants ? stat.reaped : 0);
    if (group.withDescendants) for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return ticks;
}

/** Busy CPU ticks of the whole machine (all CPUs, everything but idle and iowait). */
function machineTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return user + nice + system + irq + softirq + steal;
}

/**
 * Measures the CPU time that named groups of processes use between `start`
 * and `stop`, from /proc (Linux only), plus the whole machine's busy time —
 * what is left over is everything not named. For benchmarks of systems that
 * run as several processes on one machine: where a request's CPU goes.
 */
export function startCpuMeter(groups: Readonly<Record<string, CpuGroup>>): { stop(): Record<string, number> } {
  const before = allStats();
  const start = Object.fromEntries(Object.entries(groups).map(([name, group]) => [name, groupTicks(group, before)]));
  const machineStart = machineTicks();
  return {
    /** CPU-seconds per group, and under `machine` the whole machine's. */
    stop() {
      const after = allStats();
      const used: Record<string, number> = {};
      for (const [name, group] of Object.entries(groups)) {
        used[name] = (groupTicks(group, after) - (start[name] ?? 0)) / TICKS_PER_SECOND;
      }
      used['machine'] = (machineTicks() - machineStart) / TICKS_PER_SECOND;
      return used;
    },
  };
}
