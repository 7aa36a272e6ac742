import type { GroupLagSnapshot, PartitionLag } from './lag-snapshot';

/**
 * Status of a partition, and of a group on a topic (its worst partition).
 * Modelled on Burrow's evaluation (a window of recent offsets per partition),
 * adapted to what an external poller can see.
 */
export type LagStatus = 'OK' | 'WARN' | 'STALL' | 'STOP' | 'REWIND' | 'DATA_LOSS' | 'NOTFOUND';

/** Every status, for exporting one `kafka_consumergroup_status` series each. */
export const LAG_STATUSES: readonly LagStatus[] = ['OK', 'WARN', 'STALL', 'STOP', 'REWIND', 'DATA_LOSS', 'NOTFOUND'];

/** Worst first: a group's status is its worst partition's. */
const SEVERITY: Record<LagStatus, number> = { DATA_LOSS: 6, STOP: 5, STALL: 4, REWIND: 3, WARN: 2, OK: 1, NOTFOUND: 0 };

export interface LagRuleOptions {
  /**
   * Samples per partition the trend rules (WARN, STALL) look at, like Burrow's
   * window of offset commits. With a 15 s poll, 10 samples is 2¼ minutes.
   * @defaultValue 10
   */
  readonly windowSize: number;
  /** Lag > 0 and the committed offset unchanged for this long: STOP. @defaultValue 300_000 (5 min) */
  readonly stopAfterMs: number;
  /** A partition whose lag is this many times the mean of the others is hot (the chapter's "10x difference"). @defaultValue 10 */
  readonly hotFactor: number;
  /** ...and at least this lag, so that 12 against 1 does not flap. @defaultValue 1_000 */
  readonly hotMinLag: number;
  /** Time lag above this fraction of retention is critical (the chapter: "alert at 50% of retention"). @defaultValue 0.5 */
  readonly retentionCriticalRatio: number;
}

export const DEFAULT_LAG_RULES: LagRuleOptions = {
  windowSize: 10,
  stopAfterMs: 300_000,
  hotFactor: 10,
  hotMinLag: 1_000,
  retentionCriticalRatio: 0.5,
};

/** Recent snapshots of one group on one topic (oldest first), and how long each partition's committed offset has stood still. */
export interface LagWindow {
  readonly snapshots: readonly GroupLagSnapshot[];
  /** Per partition: the committed offset and when it was first seen (ms); kept beyond the window, for STOP. */
  readonly committedSince: ReadonlyMap<number, { readonly offset: number | null; readonly since: number }>;
}

export interface PartitionEvaluation extends PartitionLag {
  readonly status: LagStatus;
  /** Why, in words, with the numbers. */
  readonly reason: string;
  /** Records/s the group committed and the producers appended over the window; null with fewer than 2 samples or after a rewind. */
  readonly consumeRate: number | null;
  readonly produceRate: number | null;
  /** Seconds to lag 0 at those rates: 0 when caught up, Infinity when not catching up, null when unknown. */
  readonly catchUpSeconds: number | null;
}

export type FindingCode = 'DATA_LOSS' | 'RETENTION' | 'LOSS_PREDICTED' | 'HOT_PARTITION' | 'STOP' | 'STALL' | 'WARN' | 'REWIND';

export interface Finding {
  readonly severity: 'warning' | 'critical' | 'info';
  readonly code: FindingCode;
  readonly partition?: number;
  readonly message: string;
}

export interface HotPartition {
  readonly partition: number;
  readonly lag: number;
  /** Mean lag of the other partitions. */
  readonly othersMeanLag: number;
}

export interface LagEvaluation {
  readonly groupId: string;
  readonly topic: string;
  /** When the latest snapshot was read (ms). */
  readonly at: number;
  readonly status: LagStatus;
  readonly group: GroupLagSnapshot['group'];
  readonly retentionMs: number | null;
  readonly totalLag: number;
  readonly maxTimeLagSeconds: number | null;
  readonly maxRetentionUsedRatio: number | null;
  readonly minSecondsToDataLoss: number | null;
  /** Data already lost, or the oldest unconsumed record past `retentionCriticalRatio` of retention. */
  readonly retentionCritical: boolean;
  readonly hotPartition: HotPartition | null;
  readonly findings: readonly Finding[];
  readonly partitions: readonly PartitionEvaluation[];
  readonly window: { readonly samples: number; readonly size: number; readonly spanSeconds: number };
}

export const emptyWindow = (): LagWindow => ({ snapshots: [], committedSince: new Map() });

/** The window after `snapshot`: the last `windowSize` snapshots, and the committed-since times carried on. */
export function recordSnapshot(window: LagWindow, snapshot: GroupLagSnapshot, windowSize: number): LagWindow {
  const committedSince = new Map(window.committedSince);
  for (const p of snapshot.partitions) {
    const previous = committedSince.get(p.partition);
    if (!previous || previous.offset !== p.committedOffset)
      committedSince.set(p.partition, { offset: p.committedOffset, since: snapshot.at });
  }
  return { snapshots: [...window.snapshots, snapshot].slice(-Math.max(1, windowSize)), committedSince };
}

/** A window made of these snapshots alone (committed-since times can only go back to the first). */
export function windowOf(snapshots: readonly GroupLagSnapshot[], windowSize = snapshots.length): LagWindow {
  return snapshots.reduce((window, snapshot) => recordSnapshot(window, snapshot, windowSize), emptyWindow());
}

/**
 * Evaluates a group on a topic from its latest snapshots. Per partition, first
 * match wins:
 *
 * 1. No committed offset: lag counts from the log start, and is never OK —
 *    NOTFOUND when the partition holds no record; otherwise STOP when no live
 *    member owns it or it stayed uncommitted for `stopAfterMs` (a member that
 *    cannot complete its first commit), else WARN.
 * 2. DATA_LOSS — committed < log start: retention deleted records the group
 *    had not read (the chapter: "if lag > retention, data lost forever").
 * 3. OK — lag 0: caught up, nothing else matters.
 * 4. STOP — lag > 0 and no live member owns the partition (nobody will move
 *    it: crashed or scaled to zero — the chapter's "storage consumer is down
 *    for 3 days"), or the committed offset has not moved for `stopAfterMs`
 *    (members there but nothing committed: Burrow's STOP, by elapsed time as a
 *    poller cannot see commit timestamps).
 * 5. REWIND — the committed offset went back within the window: a reset or a
 *    replay. Expected after one; otherwise a consumer committing stale
 *    offsets. Clears when the window has moved past it.
 * 6. OK — lag was 0 in some sample of the window: the group keeps up and
 *    bursts are not trends (Burrow's first rule).
 * 7. OK — fewer than `windowSize` samples: not enough evidence for a trend.
 * 8. STALL — the committed offset did not move across the window while lag
 *    stayed > 0 and a member owns the partition: consumers are there but stuck
 *    (a poison record retried in place, a dependency down — the consumer holds
 *    the partition, visible only as lag). Escalates to STOP after `stopAfterMs`.
 * 9. WARN — the committed offset moves but lag grew at no step smaller and
 *    ended higher: consumers work, producers are faster (scale consumers
 *    before time lag reaches retention). Burrow warns on flat lag too; flat
 *    lag with moving offsets is a consumer keeping pace a few records behind.
 * 10. OK.
 *
 * Group level: status = the worst partition's (DATA_LOSS > STOP > STALL >
 * REWIND > WARN > OK; NOTFOUND only when every partition is NOTFOUND). Also:
 * - hot partition: the largest lag ≥ `hotFactor` × the mean lag of the other
 *   partitions and ≥ `hotMinLag`. The chapter's `max > 10 × avg` compares with
 *   a mean that includes the max itself, which with n partitions is never more
 *   than n × avg — so with ≤ 10 partitions it could never fire;
 * - retention critical: any partition's time lag above `retentionCriticalRatio`
 *   of retention ("URGENT: risk of data loss"), or data already lost;
 * - loss predicted: a partition that is not keeping up (WARN, STALL, STOP)
 *   would, at the window's rates, need longer to catch up than is left before
 *   retention deletes its oldest record (the chapter's "lag growth rate
 *   suggests catch-up impossible before retention").
 */
export function evaluateLag(window: LagWindow, options: Partial<LagRuleOptions> = {}): LagEvaluation {
  const rules = { ...DEFAULT_LAG_RULES, ...options };
  const latest = window.snapshots[window.snapshots.length - 1];
  if (!latest) throw new Error('evaluateLag needs at least one snapshot');
  const snapshots = window.snapshots.slice(-rules.windowSize);

  const partitions = latest.partitions.map((current) => evaluatePartition(current, latest, snapshots, window, rules));
  const withCommits = partitions.filter((p) => p.status !== 'NOTFOUND');
  const status = withCommits.length === 0 ? 'NOTFOUND' : worst(withCommits.map((p) => p.status));

  const findings: Finding[] = [];
  for (const p of partitions) {
    if (p.status === 'DATA_LOSS' || p.status === 'STOP' || p.status === 'STALL') {
      findings.push({ severity: 'critical', code: p.status, partition: p.partition, message: p.reason });
    } else if (p.status === 'WARN') {
      findings.push({ severity: 'warning', code: 'WARN', partition: p.partition, message: p.reason });
    } else if (p.status === 'REWIND') {
      findings.push({ severity: 'info', code: 'REWIND', partition: p.partition, message: p.reason });
    }
    if (p.retentionUsedRatio !== null && p.retentionUsedRatio > rules.retentionCriticalRatio && p.lostRecords === 0) {
      findings.push({
        severity: 'critical',
        code: 'RETENTION',
        partition: p.partition,
        message:
          `the oldest unconsumed record is ${seconds(p.timeLagSeconds)} old, ${percent(p.retentionUsedRatio)} of retention ` +
          `(critical above ${percent(rules.retentionCriticalRatio)}); retention may delete it in ${seconds(p.secondsToDataLoss)}`,
      });
    }
    if (
      (p.status === 'WARN' || p.status === 'STALL' || p.status === 'STOP') &&
      p.catchUpSeconds !== null &&
      p.secondsToDataLoss !== null &&
      p.catchUpSeconds > p.secondsToDataLoss
    ) {
      findings.push({
        severity: 'critical',
        code: 'LOSS_PREDICTED',
        partition: p.partition,
        message:
          `at the current rates (consuming ${rate(p.consumeRate)}, producing ${rate(p.produceRate)}) ` +
          `${p.catchUpSeconds === Infinity ? 'lag never shrinks' : `catching up takes ${seconds(p.catchUpSeconds)}`}, ` +
          `but retention may delete the oldest unconsumed record in ${seconds(p.secondsToDataLoss)}`,
      });
    }
  }
  const hotPartition = findHotPartition(withCommits, rules);
  if (hotPartition) {
    findings.push({
      severity: 'warning',
      code: 'HOT_PARTITION',
      partition: hotPartition.partition,
      message:
        `partition ${hotPartition.partition} has lag ${hotPartition.lag}, ` +
        `${hotPartition.othersMeanLag === 0 ? 'while the others have none' : `${round(hotPartition.lag / hotPartition.othersMeanLag)}× the mean of the others (${round(hotPartition.othersMeanLag)})`}: ` +
        'a skewed key (one service sending most metrics) or a slow consumer of that partition',
    });
  }

  const numbers = (pick: (p: PartitionEvaluation) => number | null) =>
    withCommits.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = (values: number[]) => (values.length === 0 ? null : Math.max(...values));
  const min = (values: number[]) => (values.length === 0 ? null : Math.min(...values));
  const maxRetentionUsedRatio = max(numbers((p) => p.retentionUsedRatio));
  const first = snapshots[0] ?? latest;
  return {
    groupId: latest.groupId,
    topic: latest.topic,
    at: latest.at,
    status,
    group: latest.group,
    retentionMs: latest.retentionMs,
    totalLag: numbers((p) => p.lag).reduce((sum, lag) => sum + lag, 0),
    maxTimeLagSeconds: max(numbers((p) => p.timeLagSeconds)),
    maxRetentionUsedRatio,
    minSecondsToDataLoss: min(numbers((p) => p.secondsToDataLoss)),
    retentionCritical:
      withCommits.some((p) => p.lostRecords > 0) ||
      (maxRetentionUsedRatio !== null && maxRetentionUsedRatio > rules.retentionCriticalRatio),
    hotPartition,
    findings,
    partitions,
    window: { samples: snapshots.length, size: rules.windowSize, spanSeconds: (latest.at - first.at) / 1_000 },
  };
}

function evaluatePartition(
  current: PartitionLag,
  latest: GroupLagSnapshot,
  snapshots: readonly GroupLagSnapshot[],
  window: LagWindow,
  rules: LagRuleOptions,
): PartitionEvaluation {
  // This partition's samples in the window, from the first one with a commit on.
  const history = snapshots
    .map((s) => ({ at: s.at, p: s.partitions.find((p) => p.partition === current.partition) }))
    .filter((h): h is { at: number; p: PartitionLag } => h.p !== undefined && h.p.committedOffset !== null && h.p.lag !== null);
  const offsets = history.map((h) => h.p.committedOffset ?? 0);
  const lags = history.map((h) => h.p.lag ?? 0);
  const rewound = offsets.some((offset, i) => i > 0 && offset < (offsets[i - 1] ?? offset));
  const rates = rewound ? null : ratesOf(history);
  const lag = current.lag ?? 0;
  let catchUpSeconds: number | null;
  if (current.lag === null) catchUpSeconds = null;
  else if (lag === 0) catchUpSeconds = 0;
  else if (rates === null) catchUpSeconds = null;
  else catchUpSeconds = rates.consume > rates.produce ? lag / (rates.consume - rates.produce) : Infinity;
  const result = (status: LagStatus, reason: string): PartitionEvaluation => ({
    ...current,
    status,
    reason,
    consumeRate: rates?.consume ?? null,
    produceRate: rates?.produce ?? null,
    catchUpSeconds,
  });

  const committed = current.committedOffset;
  if (committed === null) {
    if (lag === 0) return result('NOTFOUND', 'the group has no committed offset for this partition, and it holds no record');
    // Lag from the log start, and never OK: a group that read nothing it vouches for is not caught up.
    const since = window.committedSince.get(current.partition);
    const uncommittedForMs = since && since.offset === null ? latest.at - since.since : 0;
    const waiting = `no committed offset while ${lag} record(s) wait from the log start ${current.logStartOffset}`;
    if (!current.assigned) return result('STOP', `${waiting}, and no live member owns the partition`);
    if (uncommittedForMs >= rules.stopAfterMs) return result('STOP', `${waiting}, for ${seconds(uncommittedForMs / 1_000)}`);
    return result('WARN', waiting);
  }
  if (current.lostRecords > 0) {
    return result(
      'DATA_LOSS',
      `committed offset ${committed} is below the log start ${current.logStartOffset}: ` +
        `${current.lostRecords} record(s) were deleted by retention before the group read them`,
    );
  }
  if (lag === 0) return result('OK', 'caught up');

  const still = window.committedSince.get(current.partition);
  const stillForMs = still && still.offset === committed ? latest.at - still.since : 0;
  if (!current.assigned) {
    return result(
      'STOP',
      latest.group.members === 0
        ? `lag ${lag} and the group has no live member`
        : `lag ${lag} and none of the group's ${latest.group.members} live member(s) owns this partition`,
    );
  }
  if (stillForMs >= rules.stopAfterMs) {
    return result(
      'STOP',
      `committed offset ${committed} unchanged for ${seconds(stillForMs / 1_000)} (threshold ${seconds(rules.stopAfterMs / 1_000)}) with lag ${lag}`,
    );
  }
  if (rewound) {
    const at = offsets.findIndex((offset, i) => i > 0 && offset < (offsets[i - 1] ?? offset));
    return result('REWIND', `committed offset went back from ${offsets[at - 1]} to ${offsets[at]} (a reset or a replay)`);
  }
  if (lags.some((l) => l === 0)) return result('OK', `lag ${lag}, but it was 0 within the window`);
  if (history.length < rules.windowSize)
    return result('OK', `lag ${lag}; ${history.length} of ${rules.windowSize} samples, too few for a trend`);

  const span = seconds(((history[history.length - 1]?.at ?? 0) - (history[0]?.at ?? 0)) / 1_000);
  if (offsets.every((offset) => offset === committed)) {
    return result(
      'STALL',
      `committed offset ${committed} unchanged over the last ${history.length} samples (${span}) with lag ${lag} while a member owns the partition`,
    );
  }
  const firstLag = lags[0] ?? 0;
  if (lags.every((l, i) => i === 0 || l >= (lags[i - 1] ?? l)) && lag > firstLag) {
    return result(
      'WARN',
      `lag grew from ${firstLag} to ${lag} over the last ${history.length} samples (${span}) while the group committed ${committed - (offsets[0] ?? committed)} record(s)`,
    );
  }
  return result('OK', `lag ${lag}, not growing`);
}

function ratesOf(history: readonly { at: number; p: PartitionLag }[]): { consume: number; produce: number } | null {
  const first = history[0];
  const last = history[history.length - 1];
  if (!first || !last || last.at <= first.at) return null;
  const seconds = (last.at - first.at) / 1_000;
  return {
    consume: ((last.p.committedOffset ?? 0) - (first.p.committedOffset ?? 0)) / seconds,
    produce: (last.p.logEndOffset - first.p.logEndOffset) / seconds,
  };
}

function findHotPartition(partitions: readonly PartitionEvaluation[], rules: LagRuleOptions): HotPartition | null {
  const lags = partitions.filter((p) => p.lag !== null).map((p) => ({ partition: p.partition, lag: p.lag ?? 0 }));
  if (lags.length < 2) return null;
  const top = lags.reduce((a, b) => (b.lag > a.lag ? b : a));
  const othersMeanLag = (lags.reduce((sum, p) => sum + p.lag, 0) - top.lag) / (lags.length - 1);
  if (top.lag < rules.hotMinLag || top.lag < rules.hotFactor * othersMeanLag) return null;
  return { partition: top.partition, lag: top.lag, othersMeanLag };
}

function worst(statuses: readonly LagStatus[]): LagStatus {
  return statuses.reduce((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a));
}

const round = (n: number) => Math.round(n * 10) / 10;
const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;
const rate = (perSecond: number | null) => (perSecond === null ? 'unknown' : `${round(perSecond)}/s`);

function seconds(value: number | null): string {
  if (value === null) return 'unknown';
  if (value === Infinity) return 'forever';
  if (value < 120) return `${round(value)} s`;
  if (value < 7_200) return `${round(value / 60)} min`;
  if (value < 172_800) return `${round(value / 3_600)} h`;
  return `${round(value / 86_400)} d`;
}
