import type { Consumer, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  type BackoffOptions,
  type MessageConsumer,
  type MessageHandler,
  backoffDelay,
  errorCode,
  errorMessage,
  isRetriable,
  withConsumerSpan,
} from '@qls/messaging';
import type { AdapterLogger } from './kafka-client';
import { toInbound } from './kafka.chunked-group';
import { deadLetterRecord } from './kafka.dead-letters';
import type { KafkaRecordPublisher } from './kafka.publisher';

export interface KafkaConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Side-output topic for records whose handler threw a non-retriable error.
   * They are published there byte for byte with the reason in headers (a
   * reference when too large: {@link deadLetterRecord}), then committed.
   */
  readonly deadLetterTopic: string;
  /** Publisher used for the dead-letter topic. */
  readonly deadLetterPublisher: KafkaRecordPublisher;
  /**
   * Where a group with no committed offset starts.
   * @defaultValue false (only new records)
   */
  readonly fromBeginning?: boolean;
  /**
   * Backoff between in-place retries of a record whose handler threw a retriable error.
   * @defaultValue `{ initialMs: 200, maxMs: 30_000 }`
   */
  readonly retry?: BackoffOptions;
  /**
   * Attempts before a record that keeps failing with retriable errors goes to
   * the dead-letter topic. The default never gives up: for a log, holding the
   * partition (visible as lag) beats skipping a record while a dependency is down.
   * @defaultValue Infinity
   */
  readonly maxAttempts?: number;
  /**
   * Partitions handled at once by this member; records of one partition are always sequential.
   * @defaultValue 1
   */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly logger?: AdapterLogger;
}

const defaultRetry: BackoffOptions = { initialMs: 200, maxMs: 30_000 };

/**
 * A consumer-group member that implements the port's ack contract on Kafka:
 * offsets are committed only for records whose handler finished (resolved, or
 * dead-lettered); retriable failures are retried in place so the partition's
 * order holds; on stop or rebalance an unfinished record is left uncommitted
 * and will be delivered again to whoever owns the partition next.
 */
export class KafkaConsumer implements MessageConsumer {
  private readonly consumer: Consumer;
  private stopping = false;

  constructor(
    kafka: Kafka,
    private readonly options: KafkaConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs } : {}),
    });
  }

  async start(handler: MessageHandler): Promise<void> {
    this.stopping = false;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachMessage: (payload) => this.handle(payload, handler),
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
  }

  private async handle({ topic, partition, message, heartbeat }: EachMessagePayload, handler: MessageHandler): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? Number.POSITIVE_INFINITY;
    for (let attempt = 1; ; attempt++) {
      const inbound = toInbound(topic, partition, message, attempt);
      try {
        await withConsumerSpan(inbound, () => handler(inbound));
        return;
      } catch (error) {
        if (!isRetriable(error) || attempt >= maxAttempts) {
          await this.deadLetter(topic, partition, message, error);
          return;
        }
        // Throwing leaves the offset uncommitted: the record is redelivered
        // to the partition's next owner instead of being skipped.
        if (this.stopping) throw error;
        const delay = backoffDelay(attempt, this.options.retry ?? defaultRetry);
        this.options.logger?.warn(
          { topic, partition, offset: message.offset, attempt, delayMs: delay, err: errorMessage(error), code: errorCode(error) },
          'handler failed with a retriable error; retrying in place',
        );
        await sleepWithHeartbeat(delay, heartbeat);
      }
    }
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown): Promise<void> {
    const source = `${topic}/${partition}/${message.offset}`;
    this.options.logger?.error({ source, code: errorCode(error), err: errorMessage(error) }, 'record sent to the dead-letter topic');
    await this.options.deadLetterPublisher.publishRecords(this.options.deadLetterTopic, [
      deadLetterRecord({ topic, partition }, message, error),
    ]);
  }
}

/** Waits `ms`, heartbeating so a long backoff does not cost the group membership. */
async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, until - Date.now())));
    await heartbeat();
  }
}
