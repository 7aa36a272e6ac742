import type { AlertEvent, MetricPoint } from '@qls/metrics-contracts';
import type { RuleInput, WindowAggregates } from './rules';
import type { LogSketchJson } from './sketch';

/** One measurement: the contract's MetricPoint without its envelope. `timestamp` is event time (ms). */
export type Point = Pick<MetricPoint, 'serviceId' | 'name' | 'labels' | 'value' | 'timestamp'>;

/** Where a record came from: its Kafka offset and its W3C traceparent, both opaque here. */
export interface RecordMeta {
  readonly offset?: string;
  readonly context?: string;
}

export interface AlerterOptions {
  /** How far behind the partition's newest event time an event may be and still count as on time. */
  readonly outOfOrdernessMs: number;
  /** How long a window stays open after the watermark passed its end, for events beyond the out-of-orderness. */
  readonly allowedLatenessMs: number;
  /** Wall-clock quiet time after which a partition stops holding the watermark back (Infinity: never). */
  readonly idleTimeoutMs: number;
  /** Validated (and defaults applied) by the constructor, like a rules file. */
  readonly rules: readonly RuleInput[];
  /** Wall clock, for idleness only. @defaultValue Date.now */
  readonly now?: () => number;
}

/** A closed (final) window of one rule and one series. */
/** One closed window of one series: its aggregates (WindowAggregates), and what it belongs to. */
export interface WindowResult extends WindowAggregates {
  readonly partition: number;
  readonly rule: string;
  readonly fingerprint: string;
  readonly serviceId: string;
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  /** [start, end) in event time. */
  readonly start: number;
  readonly end: number;
  /** The rule's aggregate, the number its threshold is compared with. */
  readonly value: number;
  /** Trace context of the latest event added that carried one. */
  readonly context?: string;
}

/** An event too late for every window it belongs to, with why (for the side output). */
export interface LateEvent {
  readonly point: Point;
  readonly partition: number;
  readonly offset?: string;
  readonly reason: 'later than allowed lateness';
  /** The lateness bound the event was held against: max(ew before it, applied watermark) of its partition. */
  readonly watermark: number;
  /** watermark − timestamp: how far behind the watermark the event was. */
  readonly lateByMs: number;
}

/** The contract's alert event without `schemaVersion` (the publisher adds it), plus where it came from. */
export type AlertTransition = Pick<
  AlertEvent,
  | 'id'
  | 'fingerprint'
  | 'rule'
  | 'kind'
  | 'severity'
  | 'status'
  | 'serviceId'
  | 'metric'
  | 'labels'
  | 'activeAt'
  | 'at'
  | 'value'
  | 'summary'
> & {
  readonly partition: number;
  /** Trace context of the window or event that caused the transition. */
  readonly context?: string;
};

export interface AlerterOutput {
  readonly windows: WindowResult[];
  readonly late: LateEvent[];
  readonly alerts: AlertTransition[];
}

export interface AlerterStats {
  /** Records processed by this instance (not restored from snapshots). */
  readonly processed: number;
  /** Records sent to the late side output. */
  readonly late: number;
  /** Records dropped from some of their windows only (hopping windows), kept in the others. */
  readonly partiallyLate: number;
  /** Records no window took because one already took a point of their series and timestamp. */
  readonly duplicates: number;
  readonly openWindows: number;
  /** Live (rule, series) states over all partitions. */
  readonly series: number;
}

export type ThresholdStatus = 'inactive' | 'pending' | 'firing';

export interface WindowSnapshot {
  readonly start: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly context?: string;
  readonly sketch?: LogSketchJson;
}

interface SeriesSnapshot {
  readonly rule: string;
  /** Creation order within the partition: identifies the series in `due`/`deadlines` and breaks ties. */
  readonly order: number;
  readonly serviceId: string;
  readonly metric: string;
  readonly labels: Record<string, string>;
  readonly activeAt: number;
}

export interface ThresholdSeriesSnapshot extends SeriesSnapshot {
  readonly status: ThresholdStatus;
  /** End of the last evaluated window; null before the first. */
  readonly lastEnd: number | null;
  readonly windows: WindowSnapshot[];
}

export interface AbsenceSeriesSnapshot extends SeriesSnapshot {
  readonly status: 'inactive' | 'firing';
  readonly lastSeen: number;
  /** Key of its entry in the deadline heap (≤ lastSeen + timeout; entries are refreshed lazily); null while firing. */
  readonly due: number | null;
  /** Trace context of its latest event that carried one. */
  readonly context?: string;
}

/**
 * Everything one partition's future outputs depend on, as plain JSON
 * (−Infinity is written as null). Wall-clock idleness is not in it: restoring
 * counts as activity.
 */
export interface PartitionSnapshot {
  readonly version: 1;
  readonly maxTs: number | null;
  /** Largest global watermark applied to this partition's windows. */
  readonly applied: number | null;
  /** Largest idle (wall-clock) watermark this partition's absence rules were evaluated against. */
  readonly idleWatermark: number | null;
  readonly nextOrder: number;
  /** Per rule name, what its state depends on: states of a rule whose selection or window changed are dropped on restore. */
  readonly rules: Record<string, string>;
  readonly threshold: ThresholdSeriesSnapshot[];
  readonly absence: AbsenceSeriesSnapshot[];
  /** Window-end buckets in closing order: [end, series orders in insertion order]. */
  readonly due: [number, number[]][];
  /** The absence deadline heap's array, as series orders. */
  readonly deadlines: number[];
  /** Points windows took and a repeat of which would still be taken: [series key, timestamps ascending, delta-encoded]. */
  readonly seen?: [string, number[]][];
}
