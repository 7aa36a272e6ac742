import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

export interface StorageMetrics {
  /** Points written to Postgres (new rows), counted once the write committed. */
  readonly pointsWritten: Counter;
  /** Points not written because their series already had a point at their timestamp (the first one stays). */
  readonly pointsDuplicate: Counter;
  /** Points per write statement. */
  readonly writeBatchPoints: Histogram;
  /** Duration of a successful write statement. */
  readonly writeDuration: Histogram;
  /** Failed write attempts that will be retried (the partition holds meanwhile). */
  readonly writeFailures: Counter<'reason'>;
  /** Records sent to the dead-letter topic, by error code. */
  readonly deadLettered: Counter<'code'>;
  /** Records read from the topic. */
  readonly recordsConsumed: Counter;
}

export function createStorageMetrics(registry: MetricsRegistry): StorageMetrics {
  return {
    pointsWritten: registry.counter({
      name: 'metrics_storage_points_written_total',
      help: 'Points written to metric_points (new rows), counted once the write committed',
    }),
    pointsDuplicate: registry.counter({
      name: 'metrics_storage_points_duplicate_total',
      help: 'Points dropped because their series already had a point at their timestamp (a retried POST /metrics, a redelivery, a replay): the first one stays',
    }),
    writeBatchPoints: registry.histogram({
      name: 'metrics_storage_write_batch_points',
      help: 'Points per INSERT ... ON CONFLICT statement',
      buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000],
    }),
    writeDuration: registry.histogram({
      name: 'metrics_storage_write_duration_seconds',
      help: 'Duration of a committed write of a batch of points',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    writeFailures: registry.counter({
      name: 'metrics_storage_write_failures_total',
      help: 'Failed writes that are retried with backoff while the partition holds (reason: SQLSTATE or error name)',
      labelNames: ['reason'],
    }),
    deadLettered: registry.counter({
      name: 'metrics_storage_dead_lettered_total',
      help: 'Records sent to the dead-letter topic with the reason, by error code',
      labelNames: ['code'],
    }),
    recordsConsumed: registry.counter({
      name: 'metrics_storage_records_consumed_total',
      help: 'Records read from the metrics topic by the storage consumer',
    }),
  };
}
