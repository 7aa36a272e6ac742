/**
 * The broker port. Handlers and domain code see only these types, never
 * kafkajs or AWS SDK types, so a broker client can be swapped behind an adapter
 * (kafkajs is unmaintained upstream; keep that door open).
 *
 * ## Ack semantics — the contract every adapter implements
 * - The handler **resolves** → the message is acknowledged: Kafka commits the
 *   offset after it, SQS deletes the message. Nothing is acknowledged before
 *   the handler finished, so a crash means redelivery (at-least-once): handlers
 *   must be idempotent, keyed by a message or business id.
 * - The handler **throws a retriable error** (see {@link isRetriable}) → the
 *   message is delivered again after a backoff: SQS via ChangeMessageVisibility
 *   (and the queue's RedrivePolicy moves it to its DLQ after maxReceiveCount);
 *   Kafka retries in place, holding back later records of that partition so
 *   per-key order is kept.
 * - The handler **throws a non-retriable error** → the message goes to the
 *   dead-letter destination (SQS DLQ / Kafka side-output topic) with the error
 *   code and reason in its headers, without burning retries, and is then
 *   acknowledged. Nothing is dropped silently.
 */
export interface InboundMessage {
  /** Broker-assigned id: SQS MessageId, or `topic/partition/offset` for Kafka. */
  readonly id: string;
  /** Partition key (Kafka) or message group (SQS FIFO), when there is one. */
  readonly key: string | undefined;
  /** Raw body; parse it with its schema where it is received. */
  readonly body: string;
  /** Application headers (Kafka headers / SQS message attributes), incl. `traceparent`. */
  readonly headers: Readonly<Record<string, string>>;
  /** 1 for the first delivery; SQS ApproximateReceiveCount, Kafka in-process attempts. */
  readonly attempt: number;
  /** When the broker accepted the message (ms since epoch). */
  readonly timestamp: number;
  readonly source: MessageSource;
}

export type MessageSource =
  | { readonly system: 'kafka'; readonly topic: string; readonly partition: number; readonly offset: string }
  | { readonly system: 'sqs'; readonly queueUrl: string };

export interface OutboundMessage {
  /** Kafka partition key / SQS FIFO MessageGroupId. Same key → same order. */
  readonly key?: string;
  readonly body: string;
  /** Carried as Kafka headers / SQS message attributes. Trace context is added by the adapter. */
  readonly headers?: Readonly<Record<string, string>>;
  /** SQS FIFO deduplication id; ignored by Kafka and standard queues. */
  readonly deduplicationId?: string;
}

export type MessageHandler = (message: InboundMessage) => Promise<void>;

export interface MessagePublisher {
  /**
   * Publishes in order and resolves once the broker acknowledged every message
   * (Kafka acks=all; SQS 200 for every batch entry). Rejects otherwise: the
   * caller must assume none, some or all were published and retry — consumers
   * dedupe.
   */
  publish(destination: string, messages: readonly OutboundMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface MessageConsumer {
  /** Starts consuming; resolves once the consumer is running. */
  start(handler: MessageHandler): Promise<void>;
  /** Stops taking new messages, waits for in-flight handlers, acknowledges what finished. */
  stop(): Promise<void>;
}

/** Header names shared by every adapter. */
export const Headers = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  eventId: 'event-id',
  errorCode: 'x-error-code',
  errorReason: 'x-error-reason',
  originalSource: 'x-original-source',
  failedAt: 'x-failed-at',
} as const;
