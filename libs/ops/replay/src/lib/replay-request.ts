import { DEFAULT_DATE_RANGE, excerpt, strictDate, z } from '@qls/config';
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

/** Kafka timestamps are epoch ms ≥ 0 (negative ones mean "latest"/"earliest" to the protocol), and `Date` ends in 275760. */
const MIN_REPLAY_MS = DEFAULT_DATE_RANGE.min.getTime();
const MAX_MINUTES_AGO = 60 * 24 * 366 * 100;

/**
 * Strict: an ops request with a misspelt field (`minutes_ago`) must fail, not
 * replay from some default.
 */
export const replayBody = z.strictObject({
  topic: z.string({ error: 'expected a topic name' }).regex(/^[a-zA-Z0-9._-]{1,249}$/, 'expected a Kafka topic name'),
  timestamp: z.union([z.number(), z.string()], { error: 'expected an ISO 8601 date-time or epoch milliseconds' }).optional(),
  minutesAgo: z
    .number({ error: 'expected a number of minutes' })
    .positive('expected a positive number of minutes')
    .max(MAX_MINUTES_AGO, `expected at most ${MAX_MINUTES_AGO} minutes (use fromEarliest to replay everything)`)
    .optional(),
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
  if (at < MIN_REPLAY_MS) {
    const field = minutesAgo === undefined ? 'timestamp' : 'minutesAgo';
    throw invalid([`${field}: reaches before ${DEFAULT_DATE_RANGE.min.toISOString()}, before any Kafka record (use fromEarliest)`]);
  }
  if (at > now) throw invalid([`timestamp: ${new Date(at).toISOString()} is in the future`]);
  return { topic, timestamp: at, dryRun };
}

function parseTimestamp(raw: number | string): number {
  if (typeof raw === 'string' && !/^\d+$/.test(raw)) {
    // A date-time that exists (no February 30th); its range is checked by the caller.
    const date = strictDate(raw);
    if (date === undefined) {
      throw invalid([
        `timestamp: expected an ISO 8601 date-time with a zone (2026-01-31T08:00:00Z) or epoch milliseconds, got "${excerpt(raw)}"`,
      ]);
    }
    return date.getTime();
  }
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms)) throw invalid([`timestamp: expected whole epoch milliseconds, got ${excerpt(String(raw))}`]);
  if (ms < MIN_EPOCH_MS)
    throw invalid([`timestamp: expected epoch milliseconds; ${excerpt(String(raw))} looks like seconds (or is before 2001)`]);
  return ms;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `${issue.keys
      .slice(0, 5)
      .map((key) => excerpt(key))
      .join(', ')}: unknown field (expected ${FIELDS})`;
  return `${issue.path.length > 0 ? issue.path.map((key) => excerpt(String(key))).join('.') : 'body'}: ${issue.message}`;
}

function invalid(problems: readonly string[]): PermanentError {
  return new PermanentError('REPLAY.INVALID_REQUEST', problems.join('; '), { context: { problems } });
}
