// drop-system: metrics
import { seriesKey } from '@qls/metrics-contracts';
import { type AlerterOptions, type Point, type ReferenceEvent, referenceEvaluate } from '@qls/metrics-windowing';
import { InvariantCheck, type InvariantReport } from '@qls/testing';

/**
 * The metrics pipeline's promise (ADR 0007, 0008): every record of
 * `metrics-raw` is read — counted in its windows, routed to `metrics-late`
 * with the reason, or dead-lettered byte for byte — none skipped; the alerts
 * committed are exactly those of the offline reference over the same records
 * (`referenceEvaluate`), each once; storage keeps one row per (series,
 * timestamp). A crash, a rebalance or a redelivery changes none of it.
 */
export const METRICS_INVARIANTS = [
  'unread',
  'alert missing',
  'alert extra',
  'alert duplicated',
  'late not routed',
  'routed late wrongly',
  'unreadable not dead-lettered',
  'dead-lettered wrongly',
  'storage row missing',
  'storage row extra',
] as const;

/** One record of the input topic as it is in the log: `point` undefined when it is not a metric point. */
export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly point: Point | undefined;
}

export interface MetricsOutputs {
  /** Alert transition ids committed (outbox rows), with how often each was. */
  readonly alerts: ReadonlyMap<string, number>;
  /** `x-original-source` of each record in the late topic. */
  readonly lateSources: readonly string[];
  /** `x-original-source` of each record in the dead-letter topic. */
  readonly deadLetterSources: readonly string[];
  /** The alerter's checkpointed next offset per partition. */
  readonly checkpoints: ReadonlyMap<number, number>;
  /** Storage's rows as `series@timestamp` keys, when the run had storage. */
  readonly storageKeys?: readonly string[];
}

export interface MetricsCheckOptions {
  /** The input topic's name, as the side outputs' sources name it. */
  readonly topic: string;
  /** The alerter's options: the reference evaluates the same rules, windows and lateness. */
  readonly alerter: AlerterOptions;
  /** The log end offset per partition (what there was to read). */
  readonly logEnd: ReadonlyMap<number, number>;
}

/** The row key storage keeps one of per point: the series and the timestamp. */
export const storageKey = (point: Point): string => `${seriesKey(point)}@${point.timestamp}`;

/** Checks the pipeline's promise over the input log and what came out; see {@link METRICS_INVARIANTS}. */
export function checkMetrics(records: readonly RawRecord[], outputs: MetricsOutputs, options: MetricsCheckOptions): InvariantReport {
  const check = new InvariantCheck('metrics', METRICS_INVARIANTS);
  const source = (r: { partition: number; offset: number | string }) => `${options.topic}/${r.partition}/${r.offset}`;
  for (const [partition, end] of options.logEnd) {
    const next = outputs.checkpoints.get(partition) ?? 0;
    if (next < end) check.violated('unread', `${options.topic}/${partition}`, `checkpointed up to offset ${next} of ${end}`);
  }

  const readable: ReferenceEvent[] = [];
  const unreadable = new Set<string>();
  for (const record of records) {
    check.record();
    if (record.point) readable.push({ partition: record.partition, point: record.point, meta: { offset: String(record.offset) } });
    else unreadable.add(source(record));
  }
  const reference = referenceEvaluate(options.alerter, readable);

  const expected = new Set(reference.alerts.map((alert) => alert.id));
  for (const id of expected) if (!outputs.alerts.has(id)) check.violated('alert missing', id, 'in the reference, never committed');
  for (const [id, n] of outputs.alerts) {
    if (!expected.has(id)) check.violated('alert extra', id, 'committed, not in the reference over the same records');
    else if (n > 1) check.violated('alert duplicated', id, `committed ${n} times`);
  }
  check.count('alerts', expected.size);

  const late = new Set(reference.late.map((event) => source({ partition: event.partition, offset: event.offset ?? '?' })));
  const routed = new Set(outputs.lateSources);
  for (const id of late)
    if (!routed.has(id)) check.violated('late not routed', id, 'later than the allowed lateness, not in the late topic');
  for (const id of routed) if (!late.has(id)) check.violated('routed late wrongly', id, 'in the late topic, but on time by the reference');
  check.count('late', late.size);

  const lettered = new Set(outputs.deadLetterSources);
  for (const id of unreadable)
    if (!lettered.has(id)) check.violated('unreadable not dead-lettered', id, 'not a metric point, and no dead letter names it');
  for (const id of lettered)
    if (!unreadable.has(id))
      check.violated('dead-lettered wrongly', id, 'a dead letter names it, but it is a metric point (or not in the log)');
  check.count('dead-lettered', unreadable.size);
  const redelivered = outputs.lateSources.length - routed.size + outputs.deadLetterSources.length - lettered.size;
  if (redelivered > 0) check.count('side outputs published twice', redelivered);

  if (outputs.storageKeys) {
    const stored = new Set(outputs.storageKeys);
    const points = new Set(readable.map((event) => storageKey(event.point)));
    for (const key of points) if (!stored.has(key)) check.violated('storage row missing', key, 'a point of the log, no row');
    for (const key of stored) if (!points.has(key)) check.violated('storage row extra', key, 'a row no point of the log explains');
    check.count('duplicate points', readable.length - points.size);
  }
  return check.report();
}
