import type { Kafka } from 'kafkajs';
import { type AdapterLogger, KafkaBatchConsumer, type KafkaRecordPublisher } from '@qls/kafka';
import type { BackoffOptions } from '@qls/messaging';
import { type MetricPointsStore, isDataError } from './metric-points.store';
import type { StorageMetrics } from './storage.metrics';
import { RecordErrorCode, type StoredPoint, UnstorableRecordError, toStoredPoint } from './stored-point';

export interface MetricsStorageConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  /** Records that cannot be stored go here, with `x-error-code` / `x-error-reason` headers, before their offset is committed. */
  readonly deadLetterTopic: string;
  readonly deadLetterPublisher: KafkaRecordPublisher;
  readonly store: MetricPointsStore;
  readonly metrics: StorageMetrics;
  readonly logger?: AdapterLogger;
  /**
   * Most points per write statement; a larger fetched batch is written in chunks, each committed after its write.
   * @defaultValue 5_000
   */
  readonly maxBatchPoints?: number;
  /** @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Backoff between attempts of a write (or dead-letter publish) that failed with a retriable error.
   * @defaultValue `{ initialMs: 200, maxMs: 30_000 }`
   */
  readonly retry?: BackoffOptions;
  /**
   * Where a group with no committed offset starts: the storage keeps all that the topic retains.
   * @defaultValue true
   */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /**
   * Longest a fetch waits for records when there are none. Also bounds how long `stop()` waits for an idle fetch.
   * @defaultValue 500
   */
  readonly maxWaitTimeMs?: number;
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
export class MetricsStorageConsumer {
  private readonly consumer: KafkaBatchConsumer<StoredPoint>;

  constructor(options: MetricsStorageConsumerOptions) {
    const { store, metrics } = options;
    this.consumer = new KafkaBatchConsumer<StoredPoint>({
      kafka: options.kafka,
      groupId: options.groupId,
      topic: options.topic,
      deadLetterTopic: options.deadLetterTopic,
      deadLetterPublisher: options.deadLetterPublisher,
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
      logger: options.logger,
      tracerName: '@qls/metrics-storage',
      maxChunkRecords: options.maxBatchPoints ?? 5_000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
      retry: options.retry,
      fromBeginning: options.fromBeginning,
      sessionTimeoutMs: options.sessionTimeoutMs,
      maxWaitTimeMs: options.maxWaitTimeMs,
    });
  }

  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void> {
    return this.consumer.start();
  }

  /**
   * Stops fetching, lets the batch in progress finish its write (a write being
   * retried gives up; its records stay uncommitted and are redelivered) and
   * leaves the group.
   */
  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
