// drop-system: metrics
import type { Aggregation, RuleInput } from '@qls/metrics-windowing';

/** A threshold rule on `latency_ms` above `threshold`, as the lab's metrics runs and checker tests use them. */
export function latencyAbove(
  threshold: number,
  name: string,
  aggregation: Aggregation,
  window: { sizeMs: number; slideMs?: number },
  forMs?: number,
): RuleInput {
  return {
    kind: 'threshold',
    name,
    metric: 'latency_ms',
    window,
    aggregation,
    op: '>',
    threshold,
    ...(forMs === undefined ? {} : { forMs }),
  };
}
