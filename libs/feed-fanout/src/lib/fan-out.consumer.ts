import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { type FeedEvent, parseFeedEvent } from '@qls/feed-contracts';
import { type AdapterLogger, type KafkaRecordPublisher, deadLetterRecord } from '@qls/kafka';
import {
  type BackoffOptions,
  Headers,
  type InboundMessage,
  PermanentError,
  backoffDelay,
  errorCode,
  errorMessage,
  isRetriable,
  withConsumerSpan,
} from '@qls/messaging';
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
export class FanOutConsumer {
  private consumer: Consumer | undefined;
  private readonly groupId: string;
  private readonly retry: BackoffOptions;

  constructor(private readonly options: FanOutConsumerOptions) {
    this.groupId = options.groupId ?? 'fan-out';
    this.retry = options.retry ?? defaultRetry;
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, topic, sessionTimeoutMs } = this.options;
    const consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 500,
      ...(sessionTimeoutMs ? { sessionTimeout: sessionTimeoutMs } : {}),
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: this.options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Leaves the group; the chunk in progress finishes or stays uncommitted (redelivered). */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload) {
    const { topic, partition, messages } = batch;
    const live = () => isRunning() && !isStale();
    const size = this.options.maxChunkRecords ?? 500;
    for (let start = 0; start < messages.length; start += size) {
      if (!live()) return;
      const chunk = messages.slice(start, start + size);
      if (!(await this.handleChunk(topic, partition, chunk, heartbeat, live))) return;
      const last = (chunk[chunk.length - 1] as KafkaMessage).offset;
      resolveOffset(last);
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await heartbeat();
    }
  }

  /** Handles a chunk: keys concurrently, each key in order. False when it gave up (stopping, partition lost). */
  private async handleChunk(
    topic: string,
    partition: number,
    records: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<boolean> {
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
          const outcome = await this.handleRecord(topic, partition, record, heartbeat, live);
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
    const sent = await this.untilDone('dead-letter', topic, partition, heartbeat, live, () =>
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
  private async handleRecord(
    topic: string,
    partition: number,
    record: KafkaMessage,
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<'done' | 'gave-up' | Message> {
    let event: FeedEvent;
    try {
      event = parseFeedEvent(record.value?.toString() ?? '');
    } catch (error) {
      return deadLetterRecord({ topic, partition }, record, new PermanentError('FANOUT.EVENT_UNREADABLE', unreadableReason(error)));
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await withConsumerSpan(toInbound(topic, partition, record, attempt), () => this.options.fanOut.handle(event));
        return 'done';
      } catch (error) {
        if (!isRetriable(error)) return deadLetterRecord({ topic, partition }, record, error);
        this.options.metrics?.failures.inc({ stage: 'event' });
        if (!live()) return 'gave-up';
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger?.warn(
          { topic, partition, offset: record.offset, attempt, delayMs, code: errorCode(error), err: errorMessage(error) },
          'fan-out of an event failed; retrying in place (the partition holds until it succeeds)',
        );
        if (!(await pause(delayMs, heartbeat, live))) return 'gave-up';
      }
    }
  }

  private async untilDone(
    what: string,
    topic: string,
    partition: number,
    heartbeat: () => Promise<void>,
    live: () => boolean,
    work: () => Promise<unknown>,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return true;
      } catch (error) {
        this.options.metrics?.failures.inc({ stage: what });
        if (!live()) return false;
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger?.warn({ topic, partition, attempt, delayMs, err: errorMessage(error) }, `${what} failed; retrying in place`);
        if (!(await pause(delayMs, heartbeat, live))) return false;
      }
    }
  }
}

function unreadableReason(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues) && issues[0]) return `event invalid: ${issues[0].path.map(String).join('.') || '(root)'}: ${issues[0].message}`;
  return `event unreadable: ${errorMessage(error)}`;
}

/** Waits `ms` in short steps, heartbeating; false as soon as `live()` turns false. */
async function pause(ms: number, heartbeat: () => Promise<void>, live: () => boolean): Promise<boolean> {
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

function headersOf(record: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers ?? ({} as IHeaders))) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

function toInbound(topic: string, partition: number, record: KafkaMessage, attempt: number): InboundMessage {
  return {
    id: `${topic}/${partition}/${record.offset}`,
    key: record.key?.toString(),
    body: record.value?.toString() ?? '',
    headers: headersOf(record),
    attempt,
    timestamp: Number(record.timestamp),
    source: { system: 'kafka', topic, partition, offset: record.offset },
  };
}
