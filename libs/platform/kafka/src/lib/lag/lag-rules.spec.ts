import { evaluateLag, recordSnapshot, emptyWindow, windowOf, type LagRuleOptions } from './lag-rules';
import { type GroupLagSnapshot, partitionLag } from './lag-snapshot';
import { parseLagTargets } from './lag-monitor';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

interface P {
  readonly committed: number | null;
  readonly end: number;
  readonly start?: number;
  /** Timestamp of the oldest unconsumed record. */
  readonly ts?: number | null;
  readonly assigned?: boolean;
}

/** A snapshot `atSeconds` after T0 with partitions 0..n-1. */
function snapshot(
  atSeconds: number,
  partitions: readonly P[],
  group: { members?: number; state?: string; memberIds?: string[] } = {},
  retentionMs: number | null = 7 * 24 * 3_600_000,
): GroupLagSnapshot {
  const at = T0 + atSeconds * 1_000;
  const members = group.members ?? 1;
  return {
    groupId: 'alerting',
    topic: 'metrics-raw',
    at,
    group: { state: group.state ?? (members > 0 ? 'Stable' : 'Empty'), members, memberIds: group.memberIds ?? [] },
    retentionMs,
    partitions: partitions.map((p, partition) =>
      partitionLag(
        {
          partition,
          committedOffset: p.committed,
          logStartOffset: p.start ?? 0,
          logEndOffset: p.end,
          oldestUnconsumedTimestamp: p.ts === undefined ? at - 1_000 : p.ts,
          assigned: p.assigned ?? members > 0,
        },
        at,
        retentionMs,
      ),
    ),
  };
}

/** `samples` of a single partition, one every 15 s. */
const series = (samples: readonly P[], group?: { members?: number }) => samples.map((p, i) => snapshot(i * 15, [p], group));

const rules: Partial<LagRuleOptions> = { windowSize: 4, stopAfterMs: 5 * MINUTE, hotMinLag: 100 };
const evaluate = (snapshots: readonly GroupLagSnapshot[], options = rules) => evaluateLag(windowOf(snapshots), options);
const statusOf = (snapshots: readonly GroupLagSnapshot[], options = rules) => evaluate(snapshots, options).partitions[0]?.status;

describe('partitionLag', () => {
  const at = T0;
  const base = { partition: 0, logStartOffset: 100, logEndOffset: 1_000, assigned: true };

  it('measures lag in records and time lag as the age of the oldest unconsumed record, against retention', () => {
    const p = partitionLag({ ...base, committedOffset: 400, oldestUnconsumedTimestamp: at - 30 * MINUTE }, at, 60 * MINUTE);
    expect(p).toMatchObject({ lag: 600, lostRecords: 0, timeLagSeconds: 1_800, retentionUsedRatio: 0.5, secondsToDataLoss: 1_800 });
  });

  it('counts a caught-up group as 0 s behind with the whole retention ahead', () => {
    const p = partitionLag({ ...base, committedOffset: 1_000, oldestUnconsumedTimestamp: null }, at, 60 * MINUTE);
    expect(p).toMatchObject({ lag: 0, timeLagSeconds: 0, retentionUsedRatio: 0, secondsToDataLoss: 3_600 });
  });

  it('reports records already deleted by retention when the committed offset is below the log start', () => {
    const p = partitionLag({ ...base, committedOffset: 40, oldestUnconsumedTimestamp: at - 70 * MINUTE }, at, 60 * MINUTE);
    expect(p).toMatchObject({ lag: 960, lostRecords: 60, secondsToDataLoss: 0 });
    expect(p.retentionUsedRatio).toBeCloseTo(70 / 60);
  });

  it('measures lag from the log start for a partition the group never committed, and has no retention figures for unbounded retention', () => {
    expect(partitionLag({ ...base, committedOffset: null, oldestUnconsumedTimestamp: at - 30 * MINUTE }, at, 60 * MINUTE)).toMatchObject({
      lag: 900,
      lostRecords: 0,
      timeLagSeconds: 1_800,
      retentionUsedRatio: 0.5,
    });
    expect(partitionLag({ ...base, committedOffset: 500, oldestUnconsumedTimestamp: at - MINUTE }, at, null)).toMatchObject({
      lag: 500,
      timeLagSeconds: 60,
      retentionUsedRatio: null,
      secondsToDataLoss: null,
    });
  });

  it('treats a record timestamped in the future (producer clock skew) as 0 s old, and an unknown timestamp as unknown', () => {
    expect(partitionLag({ ...base, committedOffset: 500, oldestUnconsumedTimestamp: at + MINUTE }, at, null).timeLagSeconds).toBe(0);
    expect(partitionLag({ ...base, committedOffset: 500, oldestUnconsumedTimestamp: null }, at, MINUTE).timeLagSeconds).toBeNull();
  });
});

describe('evaluateLag: partition status', () => {
  it('is NOTFOUND only for an empty partition without a commit; with records it is never OK: WARN, STOP when unowned or uncommitted for stopAfterMs', () => {
    const empty = evaluate([snapshot(0, [{ committed: null, start: 10, end: 10 }])]);
    expect(empty.status).toBe('NOTFOUND');
    const owned = evaluate([
      snapshot(0, [
        { committed: null, end: 10 },
        { committed: 10, end: 10 },
      ]),
    ]);
    expect(owned.partitions.map((p) => p.status)).toEqual(['WARN', 'OK']);
    expect(owned).toMatchObject({ status: 'WARN', totalLag: 10 });
    const unowned = evaluate([snapshot(0, [{ committed: null, end: 10 }], { members: 0 })]);
    expect(unowned.status).toBe('STOP');
    const stuck = evaluate([snapshot(0, [{ committed: null, end: 10 }]), snapshot(360, [{ committed: null, end: 12 }])]);
    expect(stuck.partitions[0]).toMatchObject({ status: 'STOP', lag: 12 });
  });

  it('is DATA_LOSS when retention deleted records the group had not read, whatever else holds', () => {
    const evaluation = evaluate([snapshot(0, [{ committed: 5, start: 20, end: 30 }], { members: 0 })]);
    expect(evaluation.partitions[0]).toMatchObject({ status: 'DATA_LOSS', lostRecords: 15 });
    expect(evaluation.partitions[0]?.reason).toMatch(/15 record\(s\) were deleted by retention/);
    expect(evaluation.retentionCritical).toBe(true);
    expect(evaluation.findings).toContainEqual(expect.objectContaining({ code: 'DATA_LOSS', severity: 'critical', partition: 0 }));
  });

  it('is OK when caught up, even with no member left', () => {
    expect(statusOf([snapshot(0, [{ committed: 10, end: 10 }], { members: 0 })])).toBe('OK');
  });

  it('is STOP at once when lag > 0 and no live member owns the partition', () => {
    expect(statusOf([snapshot(0, [{ committed: 5, end: 10 }], { members: 0 })])).toBe('STOP');
    const notOwned = evaluate([snapshot(0, [{ committed: 5, end: 10, assigned: false }], { members: 2 })]);
    expect(notOwned.partitions[0]).toMatchObject({
      status: 'STOP',
      reason: "lag 5 and none of the group's 2 live member(s) owns this partition",
    });
  });

  it('is STOP when the committed offset stood still for stopAfterMs with lag, though members are there', () => {
    // 21 samples 15 s apart: 300 s with the committed offset at 5.
    const stuck = Array.from({ length: 21 }, () => ({ committed: 5, end: 10 }));
    let window = emptyWindow();
    for (const s of series(stuck)) window = recordSnapshot(window, s, 4);
    const evaluation = evaluateLag(window, rules);
    expect(evaluation.window.samples).toBe(4);
    expect(evaluation.partitions[0]?.status).toBe('STOP');
    expect(evaluation.partitions[0]?.reason).toBe('committed offset 5 unchanged for 5 min (threshold 5 min) with lag 5');

    window = emptyWindow();
    for (const s of series(stuck.slice(0, 20))) window = recordSnapshot(window, s, 4);
    expect(evaluateLag(window, rules).partitions[0]?.status).toBe('STALL');
  });

  it('is REWIND when the committed offset went back within the window, until the window moves past it', () => {
    const samples = [
      { committed: 50, end: 60 },
      { committed: 10, end: 60 },
      { committed: 12, end: 60 },
    ];
    const rewound = evaluate(series(samples));
    expect(rewound.partitions[0]).toMatchObject({
      status: 'REWIND',
      reason: 'committed offset went back from 50 to 10 (a reset or a replay)',
    });
    expect(rewound.partitions[0]?.consumeRate).toBeNull();
    const later = series([...samples, { committed: 14, end: 60 }, { committed: 16, end: 60 }]);
    expect(statusOf(later)).toBe('OK');
  });

  it('is STALL when the committed offset did not move across a full window with lag and an owner', () => {
    const stalled = series([
      { committed: 5, end: 10 },
      { committed: 5, end: 12 },
      { committed: 5, end: 12 },
      { committed: 5, end: 15 },
    ]);
    expect(evaluate(stalled).partitions[0]).toMatchObject({
      status: 'STALL',
      reason: 'committed offset 5 unchanged over the last 4 samples (45 s) with lag 10 while a member owns the partition',
      catchUpSeconds: Infinity,
    });
    expect(statusOf(stalled.slice(1))).toBe('OK'); // 3 of 4 samples: too few
  });

  it('is WARN when offsets move but lag never shrinks and ends higher', () => {
    const growing = series([
      { committed: 0, end: 100 },
      { committed: 50, end: 200 },
      { committed: 100, end: 250 },
      { committed: 150, end: 400 },
    ]);
    const warn = evaluate(growing).partitions[0];
    expect(warn).toMatchObject({ status: 'WARN', consumeRate: 150 / 45, produceRate: 300 / 45, catchUpSeconds: Infinity });
    expect(warn?.reason).toBe('lag grew from 100 to 250 over the last 4 samples (45 s) while the group committed 150 record(s)');
  });

  it('stays OK for flat lag with moving offsets, shrinking lag, or lag that touched 0 in the window', () => {
    const flat = series([
      { committed: 0, end: 10 },
      { committed: 10, end: 20 },
      { committed: 20, end: 30 },
      { committed: 30, end: 40 },
    ]);
    expect(statusOf(flat)).toBe('OK');
    const shrinking = series([
      { committed: 0, end: 100 },
      { committed: 50, end: 120 },
      { committed: 100, end: 130 },
      { committed: 130, end: 140 },
    ]);
    expect(evaluate(shrinking).partitions[0]).toMatchObject({ status: 'OK', catchUpSeconds: 10 / ((130 - 40) / 45) });
    const burst = series([
      { committed: 10, end: 10 },
      { committed: 10, end: 30 },
      { committed: 10, end: 50 },
      { committed: 10, end: 90 },
    ]);
    expect(evaluate(burst).partitions[0]).toMatchObject({ status: 'OK', reason: 'lag 80, but it was 0 within the window' });
  });

  it('gives the group its worst partition status', () => {
    const growing = (i: number) => ({ committed: i * 10, end: 20 + i * 30 });
    const stuck = { committed: 3, end: 9 };
    const snapshots = [0, 1, 2, 3].map((i) => snapshot(i * 15, [{ committed: 7, end: 7 }, growing(i), stuck]));
    const evaluation = evaluate(snapshots);
    expect(evaluation.partitions.map((p) => p.status)).toEqual(['OK', 'WARN', 'STALL']);
    expect(evaluation.status).toBe('STALL');
    expect(evaluation.totalLag).toBe(0 + 80 + 6);
  });
});

describe('evaluateLag: group findings', () => {
  it("flags a hot partition at 10× the mean lag of the others, which the chapter's max > 10 × avg cannot see with few partitions", () => {
    const lags = [5_000, 40, 60, 50];
    const evaluation = evaluate([
      snapshot(
        0,
        lags.map((lag) => ({ committed: 1_000, end: 1_000 + lag })),
      ),
    ]);
    // max / mean of all partitions is 3.9: the chapter's formula would stay silent.
    expect(Math.max(...lags) / (lags.reduce((a, b) => a + b) / lags.length)).toBeLessThan(10);
    expect(evaluation.hotPartition).toEqual({ partition: 0, lag: 5_000, othersMeanLag: 50 });
    expect(evaluation.findings).toContainEqual(expect.objectContaining({ code: 'HOT_PARTITION', partition: 0, severity: 'warning' }));
  });

  it('sees no hot partition below the floor, under 10×, or with a single partition', () => {
    const of = (lags: number[]) =>
      evaluate([
        snapshot(
          0,
          lags.map((lag) => ({ committed: 0, end: lag })),
        ),
      ]).hotPartition;
    expect(of([90, 0, 0])).toBeNull(); // floor 100
    expect(of([100, 0, 0])).toMatchObject({ partition: 0 });
    expect(of([900, 100, 100])).toBeNull();
    expect(of([5_000])).toBeNull();
  });

  it('is retention-critical above half the retention, saying when the data may go', () => {
    const hour = 3_600_000;
    const evaluation = evaluateLag(
      windowOf([
        snapshot(
          0,
          [
            { committed: 10, end: 20, ts: T0 - 0.6 * hour },
            { committed: 5, end: 5 },
          ],
          {},
          hour,
        ),
      ]),
      rules,
    );
    expect(evaluation).toMatchObject({
      retentionCritical: true,
      maxRetentionUsedRatio: 0.6,
      minSecondsToDataLoss: 1_440,
      maxTimeLagSeconds: 2_160,
    });
    expect(evaluation.findings).toContainEqual({
      severity: 'critical',
      code: 'RETENTION',
      partition: 0,
      message: 'the oldest unconsumed record is 36 min old, 60% of retention (critical above 50%); retention may delete it in 24 min',
    });
    expect(evaluateLag(windowOf([snapshot(0, [{ committed: 10, end: 20, ts: T0 - 0.4 * hour }], {}, hour)]), rules).retentionCritical).toBe(
      false,
    );
  });

  it('predicts data loss when a partition that falls behind cannot catch up before retention deletes its oldest record', () => {
    const hour = 3_600_000;
    const behind = [0, 1, 2, 3].map((i) => snapshot(i * 15, [{ committed: i * 10, end: 100 + i * 40, ts: T0 - 0.3 * hour }], {}, hour));
    const evaluation = evaluateLag(windowOf(behind), rules);
    expect(evaluation.partitions[0]?.status).toBe('WARN');
    expect(evaluation.findings).toContainEqual(
      expect.objectContaining({
        code: 'LOSS_PREDICTED',
        severity: 'critical',
        message: expect.stringMatching(/lag never shrinks, but retention may delete/),
      }),
    );
  });

  it('reports the window it looked at', () => {
    const evaluation = evaluate(
      series([
        { committed: 1, end: 1 },
        { committed: 1, end: 1 },
      ]),
    );
    expect(evaluation.window).toEqual({ samples: 2, size: 4, spanSeconds: 15 });
  });
});

describe('recordSnapshot', () => {
  it('keeps the last windowSize snapshots and when each committed offset was first seen, beyond the window', () => {
    let window = emptyWindow();
    const committed = [5, 5, 5, 5, 5, 9];
    committed.forEach((c, i) => (window = recordSnapshot(window, snapshot(i * 15, [{ committed: c, end: 20 }]), 3)));
    expect(window.snapshots.map((s) => (s.at - T0) / 1_000)).toEqual([45, 60, 75]);
    expect(window.committedSince.get(0)).toEqual({ offset: 9, since: T0 + 75_000 });
  });
});

describe('parseLagTargets', () => {
  it('reads group:topic pairs', () => {
    expect(parseLagTargets(' storage:metrics-raw, alerting:metrics-raw ,dashboard:metrics-raw')).toEqual([
      { groupId: 'storage', topic: 'metrics-raw' },
      { groupId: 'alerting', topic: 'metrics-raw' },
      { groupId: 'dashboard', topic: 'metrics-raw' },
    ]);
    expect(parseLagTargets('team:a:posts')).toEqual([{ groupId: 'team:a', topic: 'posts' }]);
  });

  it('names the entry it cannot read', () => {
    expect(() => parseLagTargets('storage')).toThrow('"storage" is not group:topic');
    expect(() => parseLagTargets('storage:')).toThrow('"storage:" is not group:topic');
    expect(() => parseLagTargets('a:t,a:t')).toThrow('"a:t" is listed twice');
    expect(() => parseLagTargets(' , ')).toThrow('expected at least one group:topic');
  });
});
