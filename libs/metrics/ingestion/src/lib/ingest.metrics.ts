import type { Counter, Gauge, Histogram, MetricsRegistry } from '@qls/observability';

/** What happened to a point sent to the ingest (the `outcome` label of `metrics_ingest_points_total`). */
export type PointOutcome = 'accepted' | 'sampled_out' | 'throttled' | 'rejected' | 'failed';

export interface IngestMetrics {
  /** Points by outcome: accepted (produced, acked), sampled_out / throttled (backpressure), rejected (4xx), failed (produce failed). */
  readonly points: Counter<'outcome'>;
  /** Requests by outcome: `accepted`, `sampled`, or the error code (`METRICS.VALIDATION_FAILED`, `AUTH.UNAUTHENTICATED`...). */
  readonly requests: Counter<'outcome'>;
  /** Points per request. */
  readonly requestPoints: Histogram;
  /** Records per produce request (one batch shared by many HTTP requests). */
  readonly produceBatchRecords: Histogram;
  /** Produce request duration until acks=all, by result. */
  readonly produceDuration: Histogram<'result'>;
  /** Lag of the alerting consumer group on the topic, as last read. */
  readonly alertingLag: Gauge;
  readonly alertingLagSeconds: Gauge;
  /** Lag reads that failed (the ingest then applies no backpressure: fail open). */
  readonly lagReadFailures: Counter;
  /** 1 while backpressure applies, labelled with the policy. */
  readonly backpressureActive: Gauge<'policy'>;
}

export function createIngestMetrics(registry: MetricsRegistry): IngestMetrics {
  return {
    points: registry.counter({
      name: 'metrics_ingest_points_total',
      help: 'Points received by POST /metrics, by outcome (accepted, sampled_out, throttled, rejected, failed)',
      labelNames: ['outcome'],
    }),
    requests: registry.counter({
      name: 'metrics_ingest_requests_total',
      help: 'POST /metrics requests by outcome (accepted, sampled, or the error code)',
      labelNames: ['outcome'],
    }),
    requestPoints: registry.histogram({
      name: 'metrics_ingest_request_points',
      help: 'Points per POST /metrics request',
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000],
    }),
    produceBatchRecords: registry.histogram({
      name: 'metrics_ingest_produce_batch_records',
      help: 'Records per produce request to Kafka (shared by concurrent HTTP requests)',
      buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000],
    }),
    produceDuration: registry.histogram({
      name: 'metrics_ingest_produce_duration_seconds',
      help: 'Time from sending a produce request until every record was acknowledged (acks=all), by result',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    alertingLag: registry.gauge({
      name: 'metrics_ingest_alerting_lag_messages',
      help: 'Records of the metrics topic not yet committed by the alerting consumer group, as last read',
    }),
    alertingLagSeconds: registry.gauge({
      name: 'metrics_ingest_alerting_lag_seconds',
      help: 'Lag of the alerting consumer group in seconds, when the lag source reports it',
    }),
    lagReadFailures: registry.counter({
      name: 'metrics_ingest_alerting_lag_read_failures_total',
      help: 'Failed reads of the alerting lag; while the lag is unknown no backpressure applies (fail open)',
    }),
    backpressureActive: registry.gauge({
      name: 'metrics_ingest_backpressure_active',
      help: '1 while the alerting lag is above the threshold and the policy (throttle or sample) applies',
      labelNames: ['policy'],
    }),
  };
}
