import type { Counter, Gauge, Histogram, MetricsRegistry } from '@qls/observability';

export interface OutboxMetrics {
  readonly backlog: Gauge;
  readonly oldestPendingAge: Gauge;
  readonly parked: Gauge;
  readonly published: Counter<'destination'>;
  readonly failures: Counter<'destination' | 'code'>;
  readonly publishDuration: Histogram<'destination'>;
  readonly publishLatency: Histogram;
}

/** The relay's metrics, registered once on the process registry. */
export function createOutboxMetrics(registry: MetricsRegistry): OutboxMetrics {
  return {
    backlog: registry.gauge({ name: 'outbox_backlog_rows', help: 'Committed outbox rows not yet published (parked rows excluded)' }),
    oldestPendingAge: registry.gauge({ name: 'outbox_oldest_pending_age_seconds', help: 'Age of the oldest unpublished outbox row' }),
    parked: registry.gauge({ name: 'outbox_parked_rows', help: 'Outbox rows that stopped being retried; retry them by command' }),
    published: registry.counter({ name: 'outbox_published_total', help: 'Outbox rows published', labelNames: ['destination'] }),
    failures: registry.counter({
      name: 'outbox_publish_failures_total',
      help: 'Outbox rows whose publish failed',
      labelNames: ['destination', 'code'],
    }),
    publishDuration: registry.histogram({
      name: 'outbox_publish_duration_seconds',
      help: 'Time to publish one batch to one destination',
      labelNames: ['destination'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    publishLatency: registry.histogram({
      name: 'outbox_publish_latency_seconds',
      help: 'From the writing transaction to published (created_at → broker ack)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
  };
}
