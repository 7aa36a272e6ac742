import { KafkaBatchConsumer, type KafkaGroupSettings } from '@qls/kafka';
import { type MetricPointsStore, isDataError } from './metric-points.store';
import type { StorageMetrics } from './storage.metrics';
import { RecordErrorCode, type StoredPoint, UnstorableRecordError, toStoredPoint } from './stored-point';

/**
 * The group's settings are {@link KafkaBatchConsumerOptions}' (a group
 * without committed offsets starts from the beginning: the storage keeps all
 * that the topic retains).
 */
export interface MetricsStorageConsumerOptions extends KafkaGroupSettings {
  readonly store: MetricPointsStore;
  readonly metrics: StorageMetrics;
  /**
   * Most points per write statement; a larger fetched batch is written in chunks, each committed after its write.
   * @defaultValue 5_000
   */
  readonly maxBatchPoints?: number;
}

/**
 * The `storage` consumer group on `metrics-raw`, a {@link KafkaBatchConsumer}:
 * batch by batch, each chunk of up to `maxBatchPoints` records is parsed, its
 * valid points are written with ONE idempotent statement
 * ({@link MetricPointsStore.write}), its bad records are dead-lettered with
 * the reason, and only then is its offset resolved and committed. So a crash
 * or a rebalance at any point redelivers records rather than losing them, and
 * a redelivered or replayed record is a duplicate of its row (dropped, counted).
 *
 * A write that fails for a reason other than its data (Postgres down, a
 * timeout, a lock) is retried with backoff, in place: the partition holds and
 * its lag shows it; nothing is committed meanwhile. A point Postgres refuses
 * for its data ({@link isDataError}) is isolated by halving the chunk and
 * dead-lettered alone. Nothing crash-loops and nothing is dropped silently.
 */
export class MetricsStorageConsumer extends KafkaBatchConsumer<StoredPoint> {
  constructor(options: MetricsStorageConsumerOptions) {
    const { store, metrics } = options;
    super({
      ...options,
      parse: (record) => toStoredPoint(record.value?.toString()),
      write: async (points) => {
        const written = await store.write(points);
        if (points.length > written) metrics.pointsDuplicate.inc(points.length - written);
        return written;
      },
      isRefused: isDataError,
      refusalError: (error) =>
        new UnstorableRecordError(RecordErrorCode.rejectedByDatabase, `the database refused the point: ${(error as Error).message}`),
      hooks: {
        consumed: (count) => metrics.recordsConsumed.inc(count),
        writeDuration: (seconds) => metrics.writeDuration.observe(seconds),
        written: (count) => {
          metrics.pointsWritten.inc(count);
          metrics.writeBatchPoints.observe(count);
        },
        writeFailed: (reason) => metrics.writeFailures.inc({ reason }),
        deadLettered: (code) => metrics.deadLettered.inc({ code }),
      },
      tracerName: '@qls/metrics-point-store',
      maxChunkRecords: options.maxBatchPoints ?? 5_000,
    });
  }
}
