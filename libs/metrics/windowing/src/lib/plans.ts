import { type AbsenceRule, type Rule, type ThresholdRule, quantileOf } from './rules';

export type LabelMatch = readonly (readonly [string, string])[];

/** A threshold rule prepared for the hot path. `slot` indexes its series map in every partition. */
export interface ThresholdPlan {
  readonly kind: 'threshold';
  readonly slot: number;
  readonly rule: ThresholdRule;
  readonly match: LabelMatch;
  readonly sizeMs: number;
  readonly slideMs: number;
  /** q for percentile aggregations: only those keep a sketch per window. */
  readonly quantile: number | undefined;
  /** What its state depends on (see PartitionSnapshot.rules). */
  readonly signature: string;
}

export interface AbsencePlan {
  readonly kind: 'absence';
  readonly slot: number;
  readonly rule: AbsenceRule;
  readonly match: LabelMatch;
  readonly timeoutMs: number;
  readonly signature: string;
}

export type Plan = ThresholdPlan | AbsencePlan;

export function matches(match: LabelMatch, labels: Readonly<Record<string, string>>): boolean {
  for (const [name, value] of match) if (labels[name] !== value) return false;
  return true;
}

/**
 * Prepares validated rules for the hot path. The signature is what a rule's
 * state depends on (selection and window, not op/threshold/severity): a
 * snapshot's states are kept on restore only if it is unchanged.
 */
export function planRules(rules: readonly Rule[]): Plan[] {
  let thresholds = 0;
  let absences = 0;
  return rules.map((rule): Plan => {
    const match = Object.entries(rule.match ?? {});
    const selection = { kind: rule.kind, metric: rule.metric, match: Object.fromEntries([...match].sort(([a], [b]) => (a < b ? -1 : 1))) };
    if (rule.kind === 'absence') {
      const signature = JSON.stringify({ ...selection, timeoutMs: rule.timeoutMs });
      return { kind: 'absence', slot: absences++, rule, match, timeoutMs: rule.timeoutMs, signature };
    }
    const { sizeMs, slideMs = sizeMs } = rule.window;
    const quantile = quantileOf(rule.aggregation);
    const signature = JSON.stringify({ ...selection, sizeMs, slideMs, sketch: quantile !== undefined });
    return { kind: 'threshold', slot: thresholds++, rule, match, sizeMs, slideMs, quantile, signature };
  });
}
