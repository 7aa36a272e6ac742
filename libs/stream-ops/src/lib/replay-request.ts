import { z } from '@qls/config';
import { PermanentError } from '@qls/messaging';

/** What the operator asked for: where to replay from, and whether to do it. */
export interface ReplayRequest {
  readonly topic: string;
  /**
   * Replay from the first record at or after this time (ms since epoch), or
   * `'earliest'`: from the oldest record the log still retains (`fromEarliest`).
   */
  readonly timestamp: number | 'earliest';
  /** true (the default): only say what would happen. */
  readonly dryRun: boolean;
}

/** Epoch milliseconds before this (2001-09-09) are almost certainly epoch seconds. */
const MIN_EPOCH_MS = 1_000_000_000_000;
const FIELDS = 'topic, timestamp, minutesAgo, fromEarliest, dryRun';

const isoDateTime = z.iso.datetime({ offset: true });

/**
 * Strict: an ops request with a misspelt field (`minutes_ago`) must fail, not
 * replay from some default.
 */
const replayBody = z.strictObject({
  topic: z.string({ error: 'expected a topic name' }).regex(/^[a-zA-Z0-9._-]{1,249}$/, 'expected a Kafka topic name'),
  timestamp: z.union([z.number(), z.string()], { error: 'expected an ISO 8601 date-time or epoch milliseconds' }).optional(),
  minutesAgo: z.number({ error: 'expected a number of minutes' }).positive('expected a positive number of minutes').finite().optional(),
  fromEarliest: z.literal(true, { error: 'expected true (or leave it out)' }).optional(),
  dryRun: z.boolean({ error: 'expected true or false' }).optional(),
});

/**
 * Reads `{ topic, timestamp | minutesAgo | fromEarliest: true, dryRun? }` (the HTTP body; the CLI
 * builds the same object from its flags). `timestamp` is an ISO 8601
 * date-time with a zone or epoch milliseconds (number or digits). Throws
 * `REPLAY.INVALID_REQUEST` whose message names every bad field
 * (`timestamp: ...; dryRun: ...`).
 */
export function parseReplayRequest(body: unknown, now: number = Date.now()): ReplayRequest {
  const parsed = replayBody.safeParse(body ?? {});
  if (!parsed.success) throw invalid(parsed.error.issues.map(describeIssue));
  const { topic, timestamp, minutesAgo, fromEarliest, dryRun = true } = parsed.data;
  if (fromEarliest) {
    if (timestamp !== undefined || minutesAgo !== undefined)
      throw invalid(['fromEarliest: give fromEarliest, timestamp or minutesAgo, only one']);
    return { topic, timestamp: 'earliest', dryRun };
  }
  if (timestamp !== undefined && minutesAgo !== undefined) throw invalid(['minutesAgo: give either timestamp or minutesAgo, not both']);
  if (timestamp === undefined && minutesAgo === undefined) {
    throw invalid(['timestamp: give timestamp (ISO 8601 or epoch milliseconds), minutesAgo or fromEarliest']);
  }
  const at = minutesAgo === undefined ? parseTimestamp(timestamp ?? '') : now - Math.round(minutesAgo * 60_000);
  if (at > now) throw invalid([`timestamp: ${new Date(at).toISOString()} is in the future`]);
  return { topic, timestamp: at, dryRun };
}

function parseTimestamp(raw: number | string): number {
  if (typeof raw === 'string' && !/^\d+$/.test(raw)) {
    if (!isoDateTime.safeParse(raw).success) {
      throw invalid([`timestamp: expected an ISO 8601 date-time with a zone (2026-01-31T08:00:00Z) or epoch milliseconds, got "${raw}"`]);
    }
    return Date.parse(raw);
  }
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms)) throw invalid([`timestamp: expected whole epoch milliseconds, got ${raw}`]);
  if (ms < MIN_EPOCH_MS) throw invalid([`timestamp: expected epoch milliseconds; ${raw} looks like seconds (or is before 2001)`]);
  return ms;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: unknown field (expected ${FIELDS})`;
  return `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`;
}

function invalid(problems: readonly string[]): PermanentError {
  return new PermanentError('REPLAY.INVALID_REQUEST', problems.join('; '), { context: { problems } });
}
