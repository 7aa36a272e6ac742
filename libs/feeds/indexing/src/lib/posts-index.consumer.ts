import { type FeedEvent, parseFeedEvent } from '@qls/feed-contracts';
import { KafkaBatchConsumer, type KafkaGroupSettings } from '@qls/kafka';
import { PermanentError, errorMessage } from '@qls/messaging';
import type { IndexerMetrics } from './indexer.metrics';
import { type PostsProjection, isDataError } from './projections';

/** Error codes the indexer dead-letters records with (the `x-error-code` header). */
export const IndexerErrorCode = {
  /** The record is not a feed event: not JSON, a missing or malformed field, an unknown type or version. */
  unreadable: 'FEED.UNREADABLE_EVENT',
  /** Postgres refused the event's data (e.g. a NUL character in the body). */
  rejectedByDatabase: 'FEED.REJECTED_BY_DATABASE',
} as const;

/**
 * The group's settings are {@link KafkaBatchConsumerOptions}' (a group
 * without committed offsets starts from the beginning: a new index indexes
 * all the log retains).
 */
export interface PostsIndexConsumerOptions extends KafkaGroupSettings {
  /** The group: `search`, `analytics`. Each projection has its own, so each has its own offsets and lag. */
  readonly groupId: string;
  readonly projection: PostsProjection;
  readonly metrics: IndexerMetrics;
  /** Most records per projection write; a larger fetched batch is written in chunks, each committed after its write. @defaultValue 2_000 */
  readonly maxBatchRecords?: number;
}

/** Header naming the group that dead-lettered a record (both indexer groups read every record). */
export const DEAD_LETTER_GROUP_HEADER = 'x-consumer-group';

/**
 * One consumer group on `posts` building one projection, a
 * {@link KafkaBatchConsumer}: each chunk of up to `maxBatchRecords` records is
 * parsed, its events applied with ONE idempotent write, its unreadable records
 * dead-lettered with the reason, and only then is its offset committed. A
 * crash or rebalance at any point redelivers records rather than losing them,
 * and a redelivered or replayed event rewrites the same rows.
 *
 * A write failing for a reason other than its data (Postgres down, a timeout,
 * a lock) is retried in place with backoff: this group's partition holds and
 * its lag shows it. Nothing else waits for it — the fan-out and the other
 * indexer are other groups with their own offsets, so a slow or stuck indexer
 * never delays feeds. An event Postgres refuses for its data is isolated by
 * halving the chunk (the projection's contract makes two halves equal to the
 * whole) and dead-lettered alone.
 */
export class PostsIndexConsumer extends KafkaBatchConsumer<FeedEvent> {
  constructor(options: PostsIndexConsumerOptions) {
    const { metrics, projection, groupId } = options;
    const labels = { projection: projection.name };
    super({
      ...options,
      parse: (record) => {
        try {
          return parseFeedEvent(record.value?.toString() ?? '');
        } catch (error) {
          throw new PermanentError(IndexerErrorCode.unreadable, `not a feed event: ${describe(error)}`);
        }
      },
      write: async (events) => (await projection.apply(events)).rowsWritten,
      isRefused: isDataError,
      refusalError: (error) =>
        new PermanentError(IndexerErrorCode.rejectedByDatabase, `the database refused the event: ${errorMessage(error)}`),
      deadLetterHeaders: { [DEAD_LETTER_GROUP_HEADER]: groupId },
      hooks: {
        consumed: (count) => metrics.recordsConsumed.inc(labels, count),
        writeDuration: (seconds) => metrics.writeDuration.observe(labels, seconds),
        written: (count) => metrics.rowsWritten.inc(labels, count),
        writeFailed: (reason) => metrics.writeFailures.inc({ ...labels, reason }),
        deadLettered: (code) => metrics.deadLettered.inc({ ...labels, code }),
      },
      logFields: labels,
      tracerName: '@qls/feed-indexing',
      maxChunkRecords: options.maxBatchRecords ?? 2_000,
    });
  }
}

/** The first problem of a parse failure, with its field (zod) or JSON's message. */
function describe(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  const first = issues?.[0];
  if (first) return `${first.path.map(String).join('.') || 'record'}: ${first.message}`;
  return errorMessage(error);
}
