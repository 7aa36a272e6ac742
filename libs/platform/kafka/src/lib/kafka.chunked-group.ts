import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { type BackoffOptions, type InboundMessage, backoffDelay } from '@qls/messaging';

/** Where a chunk came from, and how to keep the group membership while handling it. */
export interface ChunkContext {
  readonly topic: string;
  readonly partition: number;
  readonly heartbeat: () => Promise<void>;
  /** False once the consumer is stopping or lost the partition: give up, the chunk stays uncommitted. */
  readonly live: () => boolean;
}

export interface ChunkedGroupOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  /** Most records per chunk; a larger fetched batch is handled in chunks, each committed after it is done. */
  readonly maxChunkRecords: number;
  /** @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offset starts. @defaultValue true */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /** Longest a fetch waits when there is nothing; also bounds how long `stop()` waits for an idle fetch. @defaultValue 500 */
  readonly maxWaitTimeMs?: number;
}

/**
 * A consumer group that commits by hand, chunk by chunk (kafkajs `eachBatch`):
 * a fetched batch is cut into chunks of up to `maxChunkRecords`, each given to
 * the handler, and only once the handler is done with a chunk is its offset
 * resolved and committed. A crash or a rebalance at any point redelivers
 * records rather than losing them; handling must be idempotent. Stopping
 * lets the chunk in progress finish (or give up, uncommitted) and leaves the group.
 */
export abstract class ChunkedGroupConsumer {
  private consumer: Consumer | undefined;

  constructor(private readonly groupOptions: ChunkedGroupOptions) {}

  /**
   * Handles one chunk of a partition's records; true once every record is
   * done with (handled or dead-lettered), so its offset may be committed;
   * false when it gave up because {@link ChunkContext.live} turned false.
   */
  protected abstract handleChunk(records: readonly KafkaMessage[], context: ChunkContext): Promise<boolean>;

  /** Joins the group and starts consuming; resolves once running. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, groupId, topic, sessionTimeoutMs } = this.groupOptions;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.groupOptions.maxWaitTimeMs ?? 500,
      ...(sessionTimeoutMs ? { sessionTimeout: sessionTimeoutMs } : {}),
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: this.groupOptions.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.groupOptions.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Leaves the group; the chunk in progress finishes (or gives up), uncommitted unless done. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    const context: ChunkContext = { topic, partition, heartbeat, live: () => isRunning() && !isStale() };
    const size = this.groupOptions.maxChunkRecords;
    for (let start = 0; start < messages.length; start += size) {
      if (!context.live()) return;
      const chunk = messages.slice(start, start + size);
      const done = await this.handleChunk(chunk, context);
      if (!done) return; // stopping or revoked: the rest stays uncommitted and is redelivered
      const last = (chunk[chunk.length - 1] as KafkaMessage).offset;
      resolveOffset(last);
      // Committed only now: after every record up to `last` was handled (or dead-lettered).
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await heartbeat();
    }
  }
}

/** How {@link retryInPlace} retries, and what it reports. */
export interface RetryInPlaceOptions {
  readonly backoff: BackoffOptions;
  /** Every failed attempt, before it is known whether another follows (e.g. a failure counter). */
  readonly failed?: (error: unknown) => void;
  /** The wait before the next attempt (e.g. a warning saying so). */
  readonly retrying?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `work` until it succeeds, backing off between attempts while
 * heartbeating, so a long outage does not cost the group membership: the
 * partition holds and its lag shows it. `{ value }` once it succeeded;
 * undefined once the consumer is stopping or lost the partition.
 */
export async function retryInPlace<R>(
  context: ChunkContext,
  options: RetryInPlaceOptions,
  work: (attempt: number) => Promise<R>,
): Promise<{ value: R } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await work(attempt) };
    } catch (error) {
      options.failed?.(error);
      if (!context.live()) return undefined;
      const delayMs = backoffDelay(attempt, options.backoff);
      options.retrying?.(error, attempt, delayMs);
      if (!(await pause(delayMs, context))) return undefined;
    }
  }
}

/** Waits `ms` in short steps, heartbeating; false as soon as `live()` turns false. */
async function pause(ms: number, { heartbeat, live }: ChunkContext): Promise<boolean> {
  const until = Date.now() + ms;
  let lastBeat = Date.now();
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
    if (!live()) return false;
    if (Date.now() - lastBeat >= 1_000) {
      await heartbeat();
      lastBeat = Date.now();
    }
  }
  return live();
}

/** A record as the messaging port's {@link InboundMessage} (its headers as strings, the last value of a repeated one). */
export function toInbound(topic: string, partition: number, record: KafkaMessage, attempt: number): InboundMessage {
  return {
    id: `${topic}/${partition}/${record.offset}`,
    key: record.key?.toString(),
    body: record.value?.toString() ?? '',
    headers: recordHeaders(record),
    attempt,
    timestamp: Number(record.timestamp),
    source: { system: 'kafka', topic, partition, offset: record.offset },
  };
}

/** A record's headers as strings; of a repeated header, the last value. */
export function recordHeaders(record: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers ?? ({} as IHeaders))) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}
