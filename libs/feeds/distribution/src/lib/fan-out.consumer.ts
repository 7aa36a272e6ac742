import type { Kafka, KafkaMessage, Message } from 'kafkajs';
import { type FeedEvent, parseFeedEvent } from '@qls/feed-contracts';
import {
  type AdapterLogger,
  type ChunkContext,
  ChunkedGroupConsumer,
  type KafkaRecordPublisher,
  type RetryInPlaceOptions,
  deadLetterRecord,
  retryInPlace,
  toInbound,
} from '@qls/kafka';
import { type BackoffOptions, Headers, PermanentError, errorCode, errorMessage, isRetriable, withConsumerSpan } from '@qls/messaging';
import type { FanOutMetrics } from './fan-out.metrics';
import type { FeedFanOut } from './feed-fan-out';

export interface FanOutConsumerOptions {
  readonly kafka: Kafka;
  /** @defaultValue 'fan-out' */
  readonly groupId?: string;
  readonly topic: string;
  /**
   * Unreadable events (and events failing for a non-retriable reason) go here
   * byte for byte with the reason in headers ({@link deadLetterRecord}), then are committed.
   */
  readonly deadLetterTopic: string;
  readonly deadLetterPublisher: KafkaRecordPublisher;
  readonly fanOut: FeedFanOut;
  readonly metrics?: FanOutMetrics;
  readonly logger?: AdapterLogger;
  /** Partitions handled at once by this member. @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /** Keys (authors) of one batch handled at once; each key's records stay in log order. @defaultValue 16 */
  readonly keyConcurrency?: number;
  /** Most records handled before their offsets are committed. @defaultValue 500 */
  readonly maxChunkRecords?: number;
  /** Backoff of an event whose handling failed for a retriable reason (retried in place). @defaultValue `{ initialMs: 200, maxMs: 30_000 }` */
  readonly retry?: BackoffOptions;
  /** Where a group without committed offsets starts. @defaultValue true (feeds are rebuilt from the whole log) */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /** @defaultValue 500 */
  readonly maxWaitTimeMs?: number;
}

const defaultRetry: BackoffOptions = { initialMs: 200, maxMs: 30_000 };

/**
 * The `fan-out` consumer group on `posts` (kafkajs `eachBatch`): a fetched
 * batch is cut into chunks; within a chunk the records of each key (the author
 * — posts are keyed by authorId, follows by followeeId) are handled one after
 * another in log order, different keys concurrently; only when the whole chunk
 * is handled (or dead-lettered) is its offset committed. A crash redelivers,
 * never skips; handling is idempotent, so a redelivery changes nothing.
 *
 * A failure for a retriable reason (Redis, Postgres or SQS down) is retried in
 * place with backoff: the partition holds and its lag shows it. Each record
 * is handled in a CONSUMER span that continues the trace it carries.
 */
export class FanOutConsumer extends ChunkedGroupConsumer {
  private readonly retry: BackoffOptions;

  constructor(private readonly options: FanOutConsumerOptions) {
    super({ ...options, groupId: options.groupId ?? 'fan-out', maxChunkRecords: options.maxChunkRecords ?? 500 });
    this.retry = options.retry ?? defaultRetry;
  }

  /** Handles a chunk: keys concurrently, each key in order. False when it gave up (stopping, partition lost). */
  protected async handleChunk(records: readonly KafkaMessage[], context: ChunkContext): Promise<boolean> {
    const { topic, partition } = context;
    const byKey = new Map<string, KafkaMessage[]>();
    for (const record of records) {
      const key = record.key?.toString() ?? '';
      const list = byKey.get(key);
      if (list) list.push(record);
      else byKey.set(key, [record]);
    }
    const deadLetters: Message[] = [];
    let gaveUp = false;
    const queue = [...byKey.values()];
    const worker = async () => {
      for (let group = queue.shift(); group && !gaveUp; group = queue.shift()) {
        for (const record of group) {
          const outcome = await this.handleRecord(record, context);
          if (outcome === 'gave-up') {
            gaveUp = true;
            return;
          }
          if (outcome !== 'done') deadLetters.push(outcome);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.options.keyConcurrency ?? 16) }, worker));
    if (gaveUp) return false;
    if (deadLetters.length === 0) return true;
    const sent = await retryInPlace(context, this.retrying('dead-letter', context, 'dead-letter failed; retrying in place'), () =>
      this.options.deadLetterPublisher.publishRecords(this.options.deadLetterTopic, deadLetters),
    );
    if (!sent) return false;
    for (const letter of deadLetters)
      this.options.metrics?.deadLettered.inc({ code: String(letter.headers?.[Headers.errorCode] ?? 'UNKNOWN') });
    this.options.logger?.warn(
      {
        topic,
        partition,
        deadLetterTopic: this.options.deadLetterTopic,
        count: deadLetters.length,
        first: { code: deadLetters[0]?.headers?.[Headers.errorCode], source: deadLetters[0]?.headers?.[Headers.originalSource] },
      },
      'events sent to the dead-letter topic',
    );
    return true;
  }

  /** 'done', the dead letter to send, or 'gave-up' (stopping or partition lost while retrying). */
  private async handleRecord(record: KafkaMessage, context: ChunkContext): Promise<'done' | 'gave-up' | Message> {
    const { topic, partition } = context;
    let event: FeedEvent;
    try {
      event = parseFeedEvent(record.value?.toString() ?? '');
    } catch (error) {
      return deadLetterRecord({ topic, partition }, record, new PermanentError('FANOUT.EVENT_UNREADABLE', unreadableReason(error)));
    }
    const handled = await retryInPlace(
      context,
      this.retrying('event', context, 'fan-out of an event failed; retrying in place (the partition holds until it succeeds)', (error) => ({
        offset: record.offset,
        code: errorCode(error),
      })),
      async (attempt): Promise<'done' | Message> => {
        try {
          await withConsumerSpan(toInbound(topic, partition, record, attempt), () => this.options.fanOut.handle(event));
          return 'done';
        } catch (error) {
          if (!isRetriable(error)) return deadLetterRecord({ topic, partition }, record, error);
          throw error;
        }
      },
    );
    return handled?.value ?? 'gave-up';
  }

  /** Retries in place with the consumer's backoff, counting each failed attempt under `stage` and logging each wait. */
  private retrying(
    stage: 'event' | 'dead-letter',
    { topic, partition }: ChunkContext,
    message: string,
    fields: (error: unknown) => object = () => ({}),
  ): RetryInPlaceOptions {
    return {
      backoff: this.retry,
      failed: () => this.options.metrics?.failures.inc({ stage }),
      retrying: (error, attempt, delayMs) =>
        this.options.logger?.warn({ topic, partition, ...fields(error), attempt, delayMs, err: errorMessage(error) }, message),
    };
  }
}

function unreadableReason(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues) && issues[0]) return `event invalid: ${issues[0].path.map(String).join('.') || '(root)'}: ${issues[0].message}`;
  return `event unreadable: ${errorMessage(error)}`;
}
