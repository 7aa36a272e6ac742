import { type Context, type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { type FeedEvent, parseFeedEvent } from '@qls/feed-contracts';
import type { AdapterLogger } from '@qls/kafka';
import {
  type BackoffOptions,
  Headers,
  type MessagePublisher,
  type OutboundMessage,
  PermanentError,
  backoffDelay,
  errorCode,
  errorMessage,
} from '@qls/messaging';
import type { IndexerMetrics } from './indexer.metrics';
import { type PostsProjection, isDataError } from './projections';

/** Error codes the indexer dead-letters records with (the `x-error-code` header). */
export const IndexerErrorCode = {
  /** The record is not a feed event: not JSON, a missing or malformed field, an unknown type or version. */
  unreadable: 'FEED.UNREADABLE_EVENT',
  /** Postgres refused the event's data (e.g. a NUL character in the body). */
  rejectedByDatabase: 'FEED.REJECTED_BY_DATABASE',
} as const;

export interface PostsIndexConsumerOptions {
  readonly kafka: Kafka;
  /** The group: `search`, `analytics`. Each projection has its own, so each has its own offsets and lag. */
  readonly groupId: string;
  readonly topic: string;
  readonly projection: PostsProjection;
  /** Unreadable records go here with `x-error-code` / `x-error-reason` headers before their offset is committed. */
  readonly deadLetterTopic: string;
  readonly deadLetterPublisher: MessagePublisher;
  readonly metrics: IndexerMetrics;
  readonly logger?: AdapterLogger;
  /** Most records per projection write; a larger fetched batch is written in chunks, each committed after its write. @defaultValue 2_000 */
  readonly maxBatchRecords?: number;
  /** @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /** Backoff between attempts of a failed write or dead-letter publish. @defaultValue `{ initialMs: 200, maxMs: 30_000 }` */
  readonly retry?: BackoffOptions;
  /** Where a group with no committed offset starts: a new index indexes all the log retains. @defaultValue true */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /** Longest a fetch waits when there is nothing; also bounds how long `stop()` waits for an idle fetch. @defaultValue 500 */
  readonly maxWaitTimeMs?: number;
}

const defaultRetry: BackoffOptions = { initialMs: 200, maxMs: 30_000 };
const tracer = trace.getTracer('@qls/feed-indexer');

interface EventOfRecord {
  readonly event: FeedEvent;
  readonly record: KafkaMessage;
}

/**
 * One consumer group on `posts` building one projection (kafkajs `eachBatch`):
 * each chunk of up to `maxBatchRecords` records is parsed, its events applied
 * with ONE idempotent write, its unreadable records dead-lettered with the
 * reason, and only then is its offset committed. A crash or rebalance at any
 * point redelivers records rather than losing them, and a redelivered or
 * replayed event rewrites the same rows.
 *
 * A write failing for a reason other than its data (Postgres down, a timeout,
 * a lock) is retried in place with backoff: this group's partition holds and
 * its lag shows it. Nothing else waits for it — the fan-out and the other
 * indexer are other groups with their own offsets, so a slow or stuck indexer
 * never delays feeds. An event Postgres refuses for its data is isolated by
 * halving the chunk and dead-lettered alone.
 */
export class PostsIndexConsumer {
  private consumer: Consumer | undefined;
  private readonly retry: BackoffOptions;
  private readonly maxBatchRecords: number;
  private readonly projection: string;

  constructor(private readonly options: PostsIndexConsumerOptions) {
    this.retry = options.retry ?? defaultRetry;
    this.maxBatchRecords = options.maxBatchRecords ?? 2_000;
    this.projection = options.projection.name;
  }

  /** Joins the group and starts consuming; resolves once running. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, groupId, topic, sessionTimeoutMs } = this.options;
    const consumer = kafka.consumer({
      groupId,
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

  /** Stops fetching, lets the write in progress finish (a write being retried gives up, uncommitted) and leaves the group. */
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
    const live = () => isRunning() && !isStale();
    for (let start = 0; start < messages.length; start += this.maxBatchRecords) {
      if (!live()) return;
      const chunk = messages.slice(start, start + this.maxBatchRecords);
      const done = await this.applyChunk(topic, partition, chunk, heartbeat, live);
      if (!done) return; // stopping or revoked: the rest stays uncommitted and is redelivered
      const last = (chunk[chunk.length - 1] as KafkaMessage).offset;
      resolveOffset(last);
      // Committed only now, after the write (and the dead letters) of every record up to `last`.
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await heartbeat();
    }
  }

  /** Applies a chunk; false when it gave up because the consumer is stopping or lost the partition. */
  private async applyChunk(
    topic: string,
    partition: number,
    records: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<boolean> {
    const { metrics } = this.options;
    const labels = { projection: this.projection };
    metrics.recordsConsumed.inc(labels, records.length);
    const events: EventOfRecord[] = [];
    const deadLetters: { record: KafkaMessage; error: unknown }[] = [];
    for (const record of records) {
      try {
        events.push({ event: parseFeedEvent(record.value?.toString() ?? ''), record });
      } catch (error) {
        deadLetters.push({ record, error: new PermanentError(IndexerErrorCode.unreadable, `not a feed event: ${describe(error)}`) });
      }
    }
    return withBatchSpan(topic, this.options.groupId, records, async () => {
      const result = await this.untilDone('write', topic, partition, heartbeat, live, async () => {
        const started = performance.now();
        const outcome = await this.applyIsolatingRejects(events);
        metrics.writeDuration.observe(labels, (performance.now() - started) / 1000);
        return outcome;
      });
      if (result === undefined) return false;
      const { rowsWritten, rejected } = result.value;
      if (rowsWritten > 0) metrics.rowsWritten.inc(labels, rowsWritten);
      for (const { item, error } of rejected) {
        deadLetters.push({
          record: item.record,
          error: new PermanentError(IndexerErrorCode.rejectedByDatabase, `the database refused the event: ${errorMessage(error)}`),
        });
      }
      if (deadLetters.length === 0) return true;
      const sent = await this.untilDone('dead-letter', topic, partition, heartbeat, live, () =>
        this.options.deadLetterPublisher.publish(
          this.options.deadLetterTopic,
          deadLetters.map(({ record, error }) => toDeadLetter(topic, partition, this.options.groupId, record, error)),
        ),
      );
      if (sent === undefined) return false;
      for (const { error } of deadLetters) metrics.deadLettered.inc({ ...labels, code: errorCode(error) });
      const first = deadLetters[0];
      this.options.logger?.warn(
        {
          topic,
          partition,
          projection: this.projection,
          deadLetterTopic: this.options.deadLetterTopic,
          count: deadLetters.length,
          first: { offset: first?.record.offset, code: errorCode(first?.error), reason: errorMessage(first?.error) },
        },
        'records sent to the dead-letter topic',
      );
      return true;
    });
  }

  /**
   * Applies the events at once; when Postgres refuses them for their data,
   * halves the list (in order: the projection's contract makes two halves
   * equal to the whole) until the refused events are alone, and returns them.
   */
  private async applyIsolatingRejects(
    items: readonly EventOfRecord[],
  ): Promise<{ rowsWritten: number; rejected: { item: EventOfRecord; error: unknown }[] }> {
    if (items.length === 0) return { rowsWritten: 0, rejected: [] };
    try {
      const { rowsWritten } = await this.options.projection.apply(items.map((item) => item.event));
      return { rowsWritten, rejected: [] };
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (items.length === 1) return { rowsWritten: 0, rejected: [{ item: items[0] as EventOfRecord, error }] };
      const middle = Math.ceil(items.length / 2);
      const first = await this.applyIsolatingRejects(items.slice(0, middle));
      const second = await this.applyIsolatingRejects(items.slice(middle));
      return { rowsWritten: first.rowsWritten + second.rowsWritten, rejected: [...first.rejected, ...second.rejected] };
    }
  }

  /**
   * Runs `work` until it succeeds, backing off (and heartbeating, so an outage
   * does not cost the membership); undefined once stopping or revoked.
   */
  private async untilDone<T>(
    what: 'write' | 'dead-letter',
    topic: string,
    partition: number,
    heartbeat: () => Promise<void>,
    live: () => boolean,
    work: () => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await work() };
      } catch (error) {
        const reason = sqlstateOf(error) ?? errorCode(error);
        if (what === 'write') this.options.metrics.writeFailures.inc({ projection: this.projection, reason });
        if (!live()) return undefined;
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger?.warn(
          { topic, partition, projection: this.projection, attempt, delayMs, reason, err: errorMessage(error) },
          `${what} failed; retrying in place (this group's partition holds until it succeeds)`,
        );
        if (!(await pause(delayMs, heartbeat, live))) return undefined;
      }
    }
  }
}

/** The first problem of a parse failure, with its field (zod) or JSON's message. */
function describe(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  const first = issues?.[0];
  if (first) return `${first.path.map(String).join('.') || 'record'}: ${first.message}`;
  return errorMessage(error);
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

function sqlstateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function headersOf(record: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers ?? ({} as IHeaders))) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}

/** Header naming the group that dead-lettered a record (both indexer groups read every record). */
export const DEAD_LETTER_GROUP_HEADER = 'x-consumer-group';

/** A record's key, value and headers, plus why, where from and which group (the headers KafkaConsumer uses too). */
function toDeadLetter(topic: string, partition: number, groupId: string, record: KafkaMessage, error: unknown): OutboundMessage {
  const key = record.key?.toString();
  return {
    ...(key === undefined ? {} : { key }),
    body: record.value?.toString() ?? '',
    headers: {
      ...headersOf(record),
      [Headers.errorCode]: errorCode(error),
      [Headers.errorReason]: errorMessage(error).slice(0, 1_000),
      [Headers.originalSource]: `${topic}/${partition}/${record.offset}`,
      [Headers.failedAt]: new Date().toISOString(),
      [DEAD_LETTER_GROUP_HEADER]: groupId,
    },
  };
}

/**
 * One CONSUMER span per chunk, linked to the traces its records carry (up to
 * 32), and the child of that trace when they all carry the same one: the
 * POST /posts trace continues to the index write.
 */
async function withBatchSpan<T>(topic: string, groupId: string, records: readonly KafkaMessage[], work: () => Promise<T>): Promise<T> {
  const contexts = new Map<string, Context>();
  for (const record of records) {
    const traceparent = record.headers?.[Headers.traceparent]?.toString();
    if (traceparent === undefined || contexts.has(traceparent)) continue;
    contexts.set(traceparent, propagation.extract(ROOT_CONTEXT, headersOf(record)));
    if (contexts.size > 32) break;
  }
  const links: Link[] = [];
  for (const ctx of contexts.values()) {
    const spanContext = trace.getSpanContext(ctx);
    if (spanContext && links.length < 32) links.push({ context: spanContext });
  }
  const parent = contexts.size === 1 ? ([...contexts.values()][0] as Context) : ROOT_CONTEXT;
  return tracer.startActiveSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': groupId,
        'messaging.batch.message_count': records.length,
      },
    },
    parent,
    async (span) => {
      try {
        return await work();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
