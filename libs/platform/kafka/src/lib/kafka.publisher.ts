import { CompressionTypes, type Kafka, type Message, type Producer, Partitioners } from 'kafkajs';
import { type MessagePublisher, type OutboundMessage, RetriableError, PermanentError, withProducerSpan } from '@qls/messaging';
import type { AdapterLogger } from './kafka-client';
import { DEFAULT_MAX_BATCH_BYTES, chunkByBytes } from './kafka.dead-letters';

export interface KafkaPublisherOptions {
  /**
   * Compression of record batches.
   * @defaultValue CompressionTypes.None
   */
  readonly compression?: CompressionTypes;
  /**
   * How long the broker may take to acknowledge a send (all in-sync replicas),
   * which is also how long the client waits for the answer.
   * @defaultValue 30_000
   */
  readonly timeoutMs?: number;
  /**
   * Most bytes (keys, values, headers) one produce call carries; a larger
   * publish is sent as several calls, in order. Below the broker's
   * `message.max.bytes`, which bounds what one call writes to one partition.
   * @defaultValue 768 KiB
   */
  readonly maxBatchBytes?: number;
  /** Told when a failed send makes the publisher start a new producer. */
  readonly logger?: Pick<AdapterLogger, 'warn'>;
}

/** Publishes Kafka records byte for byte (what dead-letter topics need); {@link KafkaPublisher} is one. */
export interface KafkaRecordPublisher {
  publishRecords(topic: string, records: readonly Message[]): Promise<void>;
}

/**
 * Kafka error types that mean the producer's idempotence state (producer id,
 * epoch, sequence numbers) no longer matches the broker's. kafkajs calls them
 * non-retriable; with a new producer the same records can be sent again.
 */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/**
 * Publishes with an idempotent producer and acks=all: a retried send never
 * duplicates or reorders records within a partition, and a resolved publish
 * survives the loss of the leader. Messages with the same key land in the
 * same partition (Java-compatible murmur2 partitioner), so per-key order holds.
 *
 * One send at a time. An idempotent producer numbers the records of each
 * partition, and kafkajs takes a timed-out send's numbers back before it
 * retries it — so a second caller's send in that gap reuses them. The broker
 * then either rejects every later send as out of order (the publisher is
 * stuck until restarted) or takes the second send for a duplicate of the first
 * and acknowledges records it never wrote. Sends queued behind each other
 * cannot interleave like that, and cost nothing on one broker connection,
 * where kafkajs already lets one idempotent produce request through at a time.
 *
 * A send that still fails leaves the numbering uncertain (the broker may have
 * written it), so the publisher drops that producer and the next send starts
 * a new one (new producer id, numbering from zero). The failed records may
 * have been written and are published again by the caller's retry: delivery
 * is at-least-once and consumers dedupe by event id.
 *
 * Retries inside a send are bounded (the client's `retry`), unlike kafkajs's
 * default of retrying an idempotent send forever: a publish that cannot
 * succeed must fail, so that callers such as the outbox relay back off and
 * report it.
 */
export class KafkaPublisher implements MessagePublisher, KafkaRecordPublisher {
  private producer: { readonly instance: Producer; readonly connected: Promise<void> } | undefined;
  /** The previous send; the next one starts when it has settled. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaPublisherOptions = {},
  ) {}

  async publish(topic: string, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Retriable: a caller racing a shutdown (an outbox relay) must keep its rows, not park them.
    if (this.closed) throw new RetriableError('KAFKA.PUBLISHER_CLOSED', `cannot publish to Kafka topic ${topic}: the publisher is closed`);
    await withProducerSpan('kafka', topic, messages, (stamped) =>
      this.enqueue(
        topic,
        stamped.map((m) => ({ key: m.key ?? null, value: m.body, headers: { ...m.headers } })),
      ),
    );
  }

  /**
   * Publishes Kafka records as they are — Buffer keys, values and headers
   * untouched (dead letters carry the original bytes). Same guarantees as
   * {@link publish}; no trace context is added.
   */
  async publishRecords(topic: string, records: readonly Message[]): Promise<void> {
    if (records.length === 0) return;
    if (this.closed) throw new RetriableError('KAFKA.PUBLISHER_CLOSED', `cannot publish to Kafka topic ${topic}: the publisher is closed`);
    await this.enqueue(topic, records);
  }

  private enqueue(topic: string, records: readonly Message[]): Promise<void> {
    const send = this.queue.then(async () => {
      for (const chunk of chunkByBytes(records, this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES)) await this.send(topic, chunk);
    });
    this.queue = send.catch(() => undefined);
    return send;
  }

  /** Refuses new publishes, lets the queued ones finish, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await producer.instance.disconnect();
  }

  private async send(topic: string, messages: Message[]): Promise<void> {
    const producer = this.currentProducer();
    try {
      await producer.connected;
      await producer.instance.send({
        topic,
        acks: -1,
        timeout: this.options.timeoutMs ?? 30_000,
        compression: this.options.compression ?? CompressionTypes.None,
        messages,
      });
    } catch (cause) {
      this.dropProducer(cause);
      const context = { topic, messageCount: messages.length };
      const message = `publishing ${messages.length} message(s) to Kafka topic ${topic} failed: ${(cause as Error).message}`;
      throw isRetriableSend(cause)
        ? new RetriableError('KAFKA.PUBLISH_FAILED', message, { cause, context })
        : new PermanentError('KAFKA.PUBLISH_REJECTED', message, { cause, context });
    }
  }

  private currentProducer(): { readonly instance: Producer; readonly connected: Promise<void> } {
    if (!this.producer) {
      const instance = this.kafka.producer({
        idempotent: true,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.producer = { instance, connected: instance.connect() };
    }
    return this.producer;
  }

  private dropProducer(cause: unknown): void {
    const dropped = this.producer;
    this.producer = undefined;
    if (!dropped) return;
    this.options.logger?.warn(
      { err: (cause as Error).message, type: protocolErrorType(cause) },
      'a Kafka send failed; starting a new idempotent producer for the next one, as the failed send may have been written',
    );
    void dropped.instance.disconnect().catch(() => undefined);
  }
}

interface KafkaJsError {
  readonly name?: string;
  readonly type?: string;
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

/**
 * What failed the send, under kafkajs's "gave up after N retries" wrapper —
 * which calls every failure it wraps non-retriable, a timeout included.
 */
function rootCause(error: unknown): KafkaJsError {
  let e = error as KafkaJsError;
  while (e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause) e = e.cause as KafkaJsError;
  return e;
}

/** The Kafka protocol error type (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER), if the broker answered with one. */
function protocolErrorType(error: unknown): string | undefined {
  return rootCause(error).type;
}

/** A send worth trying again: timeouts, lost connections, leader moves, and the producer state a new producer resets. */
function isRetriableSend(error: unknown): boolean {
  const cause = rootCause(error);
  return cause.retriable !== false || PRODUCER_STATE_ERRORS.has(cause.type ?? '');
}
