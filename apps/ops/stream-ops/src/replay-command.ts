import { parseArgs } from 'node:util';
import { errorCode, errorMessage } from '@qls/messaging';
import { type ReplayPlan, type ReplayService, parseReplayRequest } from '@qls/stream-replay';

export const USAGE = `usage: replay-cli --group <group id> --topic <topic> (--minutes-ago <n> | --timestamp <ISO 8601 | epoch ms> | --from-earliest) [--apply] [--json]

Prints what a replay of the consumer group from that time (or from the oldest
record the topic retains) would do (a dry run); --apply does it. Refused (exit 3) while the group has live members.
Exit status: 0 done, 1 failed, 2 bad arguments, 3 refused.`;

export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

/** Failures that are a "no" to this replay, not a malfunction: the operator must act first. */
const REFUSALS = new Set(['REPLAY.GROUP_ACTIVE', 'REPLAY.BLOCKED', 'REPLAY.GROUP_NOT_FOUND', 'REPLAY.TOPIC_NOT_FOUND']);

export interface ReplayCommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * The replay CLI without the process around it (replay-cli.ts is that): parses
 * the flags, plans, prints, applies with `--apply`; returns the exit status.
 * `createService` runs only once the flags are valid.
 */
export async function runReplayCommand(
  argv: readonly string[],
  createService: () => ReplayService,
  io: ReplayCommandIo,
  now: number = Date.now(),
): Promise<number> {
  let flags: {
    group?: string;
    topic?: string;
    'minutes-ago'?: string;
    timestamp?: string;
    'from-earliest'?: boolean;
    apply?: boolean;
    json?: boolean;
    help?: boolean;
  };
  try {
    flags = parseArgs({
      args: [...argv],
      options: {
        group: { type: 'string' },
        topic: { type: 'string' },
        'minutes-ago': { type: 'string' },
        timestamp: { type: 'string' },
        'from-earliest': { type: 'boolean' },
        apply: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    io.err(`${errorMessage(error)}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (flags.help) {
    io.out(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (!flags.group) {
    io.err(`--group is required\n${USAGE}\n`);
    return EXIT.usage;
  }
  const minutesAgo = flags['minutes-ago'];
  if (minutesAgo !== undefined && !/^\d+(\.\d+)?$/.test(minutesAgo)) {
    io.err(`--minutes-ago: expected a number of minutes, got "${minutesAgo}"\n`);
    return EXIT.usage;
  }
  let request: ReturnType<typeof parseReplayRequest>;
  try {
    request = parseReplayRequest(
      {
        topic: flags.topic,
        ...(flags.timestamp === undefined ? {} : { timestamp: flags.timestamp }),
        ...(minutesAgo === undefined ? {} : { minutesAgo: Number(minutesAgo) }),
        ...(flags['from-earliest'] ? { fromEarliest: true } : {}),
        dryRun: !flags.apply,
      },
      now,
    );
  } catch (error) {
    io.err(
      `${errorMessage(error)
        .replace(/\bminutesAgo\b/g, '--minutes-ago')
        .replace(/\bfromEarliest\b/g, '--from-earliest')
        .replace(/\btimestamp\b/g, '--timestamp')
        .replace(/\btopic:/g, '--topic:')}\n`,
    );
    return EXIT.usage;
  }

  const service = createService();
  try {
    const plan = await service.plan(flags.group, request.topic, request.timestamp);
    if (request.dryRun) {
      io.out(
        flags.json
          ? `${JSON.stringify({ dryRun: true, plan }, null, 2)}\n`
          : `${describePlan(plan)}\nDry run: nothing changed. Add --apply to replay.\n`,
      );
      return EXIT.ok;
    }
    if (!flags.json) io.out(`${describePlan(plan)}\n`);
    const result = await service.apply(plan);
    io.out(
      flags.json
        ? `${JSON.stringify({ dryRun: false, ...result }, null, 2)}\n`
        : `Applied${result.stateRewound ? ' (state rewound first)' : ''}: committed offsets now ${result.applied.map((a) => `${a.partition}=${a.offset}`).join(', ')}.\n`,
    );
    return EXIT.ok;
  } catch (error) {
    const refused = REFUSALS.has(errorCode(error));
    io.err(`${refused ? 'refused' : 'failed'}: ${errorMessage(error)}\n`);
    return refused ? EXIT.refused : EXIT.failed;
  } finally {
    await service.close();
  }
}

/** The plan as a table, for people. */
export function describePlan(plan: ReplayPlan): string {
  const rows = [
    ['partition', 'from', 'to', 're-read', 'note'],
    ...plan.partitions.map((p) => [
      String(p.partition),
      p.from === null ? '-' : String(p.from),
      String(p.to),
      p.reRead === null ? '-' : String(p.reRead),
      p.note ?? '',
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const table = rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd());
  const lines = [
    `Replay of consumer group ${plan.groupId} on ${plan.topic} from ${plan.fromEarliest ? 'the earliest retained record' : plan.since}`,
    ...table,
    `  ${plan.totalReRead} record(s) will be read again; live members: ${plan.liveMembers}`,
  ];
  if (plan.state !== null)
    lines.push(`  state rewind: ${JSON.stringify('error' in plan.state ? { error: plan.state.error } : plan.state.plan)}`);
  for (const blocker of plan.blockers) lines.push(`  blocked: ${blocker}`);
  return lines.join('\n');
}
