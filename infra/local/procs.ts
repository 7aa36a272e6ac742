/**
 * Operating-system plumbing for the server manager: detached processes, pid files,
 * process trees, ports. Linux only (it reads /proc).
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  /** Also how a pid is recognised as ours later: the process runs in (or under) this directory. */
  readonly cwd: string;
  readonly logPath: string;
  readonly user?: OsUser;
}

/** Pids of processes this process started with spawnDetached that have exited since (it is their parent: it knows). */
const exitedChildren = new Set<number>();

/** Whether a process started here with spawnDetached has exited: exact, where /proc can only be read at a moment. */
export function childExited(pid: number): boolean {
  return exitedChildren.has(pid);
}

/** Starts a process in its own session, with stdout and stderr appended to its log, and returns its pid. */
export function spawnDetached(launch: Launch): Promise<number> {
  const log = openSync(launch.logPath, 'a');
  try {
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      detached: true,
      stdio: ['ignore', log, log],
      uid: launch.user?.uid,
      gid: launch.user?.gid,
    });
    child.unref();
    return new Promise((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot run ${launch.command}: ${error.message}`)));
      child.once('spawn', () => {
        const pid = child.pid as number;
        child.once('exit', () => exitedChildren.add(pid));
        resolve(pid);
      });
    });
  } finally {
    closeSync(log);
  }
}

/** Runs a one-off setup command (initdb, Kafka's storage format) to completion, its output appended to the log. */
export function runToLog(launch: Launch): Promise<void> {
  const log = openSync(launch.logPath, 'a');
  try {
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      stdio: ['ignore', log, log],
      uid: launch.user?.uid,
      gid: launch.user?.gid,
    });
    return new Promise((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot run ${launch.command}: ${error.message}`)));
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${launch.command} ${launch.args.join(' ')} exited with ${code}`)),
      );
    });
  } finally {
    closeSync(log);
  }
}

/** A local OS account (the `postgres` user that Debian's package creates). */
export function osUser(name: string): OsUser {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) throw new Error(`there is no "${name}" OS user`);
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

export function readPid(pidPath: string): number | undefined {
  if (!existsSync(pidPath)) return undefined;
  const pid = Number(readFileSync(pidPath, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function writePid(pidPath: string, pid: number): void {
  writeFileSync(pidPath, `${pid}\n`);
}

export function removePid(pidPath: string): void {
  rmSync(pidPath, { force: true });
}

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The pid is a live process whose working directory is one of `dirs` or below: a recycled pid is not ours. */
export function isOurs(pid: number, dirs: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  let cwd: string;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return false;
  }
  return dirs.some((dir) => {
    try {
      const home = realpathSync(dir);
      return cwd === home || cwd.startsWith(`${home}/`);
    } catch {
      return false;
    }
  });
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself contain spaces and parentheses.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/**
 * Sends `signal` to the main process, waits for it and all its descendants to exit,
 * then SIGKILLs whatever is left. Throws if anything survives.
 */
export async function stopTree(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const tree = processTree(pid);
  const allGone = () => tree.every((p) => !isAlive(p));
  signalQuietly(pid, signal);
  if (await waitFor(allGone, graceMs)) return;
  signalQuietly(-pid, 'SIGKILL'); // the whole process group: the server was started as a session leader
  for (const p of tree) signalQuietly(p, 'SIGKILL');
  if (await waitFor(allGone, 5_000)) return;
  throw new Error(`processes ${tree.filter(isAlive).join(', ')} survived SIGKILL`);
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Polls `condition` until it holds (true) or `timeoutMs` passes (false). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True when something already listens on 127.0.0.1:port (or on all interfaces). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' || error.code === 'EACCES'));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** The last `lines` lines of a log after byte `from`, reading at most its last 256 KiB. */
export function tail(path: string, lines: number, from = 0): string[] {
  if (!existsSync(path)) return [];
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 256 * 1024, 0);
    const buffer = Buffer.alloc(Math.max(size - start, 0));
    readSync(fd, buffer, 0, buffer.length, start);
    const all = buffer.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** Keeps one previous log (`.1`) once a log passes `maxBytes`, so logs do not grow forever. */
export function rotateLog(path: string, maxBytes: number): void {
  if (existsSync(path) && statSync(path).size > maxBytes) renameSync(path, `${path}.1`);
}
