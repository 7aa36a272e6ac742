import { CompressionTypes, type Kafka, type Producer, Partitioners } from 'kafkajs';
import { type MessagePublisher, type OutboundMessage, RetriableError, PermanentError, withProducerSpan } from '@qls/messaging';

export interface KafkaPublisherOptions {
  /**
   * Compression of record batches.
   * @defaultValue CompressionTypes.None
   */
  readonly compression?: CompressionTypes;
}

/**
 * Publishes with an idempotent producer and acks=all: a retried send never
 * duplicates or reorders records within a partition, and a resolved publish
 * survives the loss of the leader. Messages with the same key land in the
 * same partition (Java-compatible murmur2 partitioner), so per-key order holds.
 *
 * Retries are bounded (the client's `retry`), unlike kafkajs's default of
 * retrying an idempotent send forever: a publish that cannot succeed must
 * fail, so that callers such as the outbox relay back off and report it.
 * kafkajs warns that this "may invalidate EoS guarantees" — accepted: delivery
 * is at-least-once and consumers dedupe by event id.
 */
export class KafkaPublisher implements MessagePublisher {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly options: KafkaPublisherOptions = {},
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async publish(topic: string, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    await withProducerSpan('kafka', topic, messages, async (stamped) => {
      try {
        await this.producer.send({
          topic,
          acks: -1,
          compression: this.options.compression ?? CompressionTypes.None,
          messages: stamped.map((m) => ({ key: m.key ?? null, value: m.body, headers: { ...m.headers } })),
        });
      } catch (cause) {
        const context = { topic, messageCount: messages.length };
        const retriable = (cause as { retriable?: boolean }).retriable !== false;
        const message = `publishing ${messages.length} message(s) to Kafka topic ${topic} failed: ${(cause as Error).message}`;
        throw retriable
          ? new RetriableError('KAFKA.PUBLISH_FAILED', message, { cause, context })
          : new PermanentError('KAFKA.PUBLISH_REJECTED', message, { cause, context });
      }
    });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = undefined;
  }
}
