// drop-system: metrics
import { type AlerterOptions, type Point, referenceEvaluate } from '@qls/metrics-windowing';
import { latencyAbove } from './lab-rules';
import { type MetricsOutputs, type RawRecord, checkMetrics, storageKey } from './metrics.invariants';

const alerter: AlerterOptions = {
  rules: [latencyAbove(900, 'slow', 'max', { sizeMs: 1_000 })],
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  idleTimeoutMs: Number.POSITIVE_INFINITY,
};
const T = Date.UTC(2026, 0, 1);
const point = (serviceId: string, value: number, at: number): Point => ({
  serviceId,
  name: 'latency_ms',
  value,
  timestamp: T + at,
  labels: {},
});

/** Two partitions: a breach on p0, a repeat of a point, a point later than the lateness on p1, an unreadable record. */
const records: RawRecord[] = [
  { partition: 0, offset: 0, point: point('a', 950, 0) },
  { partition: 0, offset: 1, point: point('a', 100, 1_000) },
  { partition: 0, offset: 2, point: point('a', 100, 1_000) },
  { partition: 0, offset: 3, point: point('a', 100, 5_000) },
  { partition: 1, offset: 0, point: point('b', 100, 3_000) },
  { partition: 1, offset: 1, point: undefined },
  { partition: 1, offset: 2, point: point('b', 100, 6_000) },
  { partition: 1, offset: 3, point: point('b', 990, 1_500) },
];
const options = {
  topic: 'raw',
  alerter,
  logEnd: new Map([
    [0, 4],
    [1, 4],
  ]),
};
const readable = records.flatMap((r) => (r.point ? [{ partition: r.partition, point: r.point, meta: { offset: String(r.offset) } }] : []));
const reference = referenceEvaluate(alerter, readable);

/** What a correct pipeline put out for these records. */
function correctOutputs(): MetricsOutputs {
  return {
    alerts: new Map(reference.alerts.map((alert) => [alert.id, 1])),
    lateSources: reference.late.map((event) => `raw/${event.partition}/${event.offset}`),
    deadLetterSources: ['raw/1/1'],
    checkpoints: new Map([
      [0, 4],
      [1, 4],
    ]),
    storageKeys: [...new Set(readable.map((event) => storageKey(event.point)))],
  };
}

describe('checkMetrics', () => {
  it('holds for what a correct pipeline puts out, and counts alerts, late points, dead letters and duplicates', () => {
    expect(reference.alerts.length).toBeGreaterThan(0);
    expect(reference.late.map((event) => event.offset)).toEqual(['3']);
    const report = checkMetrics(records, correctOutputs(), options);
    expect(report.violations).toEqual([]);
    expect(report.checked).toBe(8);
    expect(report.counts).toEqual({ alerts: reference.alerts.length, late: 1, 'dead-lettered': 1, 'duplicate points': 1 });
  });

  it('finds a partition the alerter did not read to its end: unread', () => {
    const report = checkMetrics(
      records,
      {
        ...correctOutputs(),
        checkpoints: new Map([
          [0, 4],
          [1, 2],
        ]),
      },
      options,
    );
    expect(report.violations).toEqual([{ invariant: 'unread', id: 'raw/1', detail: 'checkpointed up to offset 2 of 4' }]);
  });

  it('finds alerts missing, extra and committed twice against the reference', () => {
    const [first] = reference.alerts;
    const alerts = new Map<string, number>([['made-up', 1]]);
    const report = checkMetrics(records, { ...correctOutputs(), alerts }, options);
    expect(report.violations.map((v) => `${v.invariant} ${v.id}`)).toEqual([
      ...reference.alerts.map((alert) => `alert missing ${alert.id}`),
      'alert extra made-up',
    ]);
    const twice = checkMetrics(records, { ...correctOutputs(), alerts: new Map([[first?.id ?? '', 2]]) }, options);
    expect(twice.violations).toContainEqual({ invariant: 'alert duplicated', id: first?.id, detail: 'committed 2 times' });
  });

  it('finds a late point not routed, an on-time point routed late, and an unreadable record without its dead letter', () => {
    const report = checkMetrics(records, { ...correctOutputs(), lateSources: ['raw/0/1'], deadLetterSources: [] }, options);
    expect(report.violations).toEqual([
      { invariant: 'late not routed', id: 'raw/1/3', detail: 'later than the allowed lateness, not in the late topic' },
      { invariant: 'routed late wrongly', id: 'raw/0/1', detail: 'in the late topic, but on time by the reference' },
      { invariant: 'unreadable not dead-lettered', id: 'raw/1/1', detail: 'not a metric point, and no dead letter names it' },
    ]);
  });

  it('counts side outputs published twice (a crash between publishing and checkpointing) without calling them violations', () => {
    const outputs = correctOutputs();
    const report = checkMetrics(records, { ...outputs, deadLetterSources: ['raw/1/1', 'raw/1/1'] }, options);
    expect(report.violations).toEqual([]);
    expect(report.counts['side outputs published twice']).toBe(1);
  });

  it('finds a point storage lost and a row no point explains', () => {
    const stored = correctOutputs().storageKeys?.filter((key) => !key.startsWith('b')) ?? [];
    const report = checkMetrics(records, { ...correctOutputs(), storageKeys: [...stored, 'ghost@1'] }, options);
    expect(report.violations.map((v) => v.invariant)).toEqual([
      'storage row missing',
      'storage row missing',
      'storage row missing',
      'storage row extra',
    ]);
  });
});
