import type { MetricsRegistry } from '@qls/observability';
import type { DeadLetterStatus } from './dead-letter';

/** The gauges of one or more DLQs, labelled by queue name. */
export interface DeadLetterMetrics {
  /** Sets `sqs_dlq_depth`, `sqs_dlq_oldest_age_seconds` and `sqs_dlq_alert` for `status.queue`. */
  record(status: DeadLetterStatus): void;
}

/**
 * Registers `sqs_dlq_depth{queue}`, `sqs_dlq_oldest_age_seconds{queue}` and
 * `sqs_dlq_alert{queue}` (1 when depth > 0). The Prometheus rule that pages is
 * infra/alerts/notifications-dlq.rules.yml.
 */
export function createDeadLetterMetrics(registry: MetricsRegistry): DeadLetterMetrics {
  const depth = registry.gauge<'queue'>({
    name: 'sqs_dlq_depth',
    help: 'Messages in the dead-letter queue (visible + in flight + delayed)',
    labelNames: ['queue'],
  });
  const oldestAge = registry.gauge<'queue'>({
    name: 'sqs_dlq_oldest_age_seconds',
    help: 'Age of the oldest dead letter, from its SentTimestamp (0 when empty)',
    labelNames: ['queue'],
  });
  const alert = registry.gauge<'queue'>({
    name: 'sqs_dlq_alert',
    help: '1 when the dead-letter queue holds any message: each one needs a person to look at it',
    labelNames: ['queue'],
  });
  return {
    record(status) {
      const labels = { queue: status.queue };
      depth.set(labels, status.depth);
      oldestAge.set(labels, status.oldestAgeSeconds);
      alert.set(labels, status.alert ? 1 : 0);
    },
  };
}
