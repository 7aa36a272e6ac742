/**
 * @qls/metrics-windowing — the pure core of an event-time windowed alerter: windows,
 * watermarks, lateness, threshold and absence rules, snapshots. No I/O; the
 * Kafka consumer and the checkpoint store live around it. The semantics
 * (watermarks, lateness, the alert state machine, the sketch's error bound)
 * are specified in libs/metrics/windowing/README.md.
 */
export { WindowedAlerter } from './lib/windowed-alerter';
export { referenceEvaluate } from './lib/reference';
export type { ReferenceEvent } from './lib/reference';
export {
  RulesFileError,
  absenceRuleSchema,
  aggregations,
  comparisonOps,
  parseRulesFile,
  ruleSchema,
  rulesFileSchema,
  thresholdRuleSchema,
} from './lib/rules';
export type { AbsenceRule, Aggregation, ComparisonOp, Rule, RuleInput, RulesFile, ThresholdRule } from './lib/rules';
export { LogSketch, SKETCH_RELATIVE_ACCURACY, quantileRank } from './lib/sketch';
export type { BucketsJson, LogSketchJson } from './lib/sketch';
export { fingerprint } from './lib/alerts';
export type * from './lib/types';
