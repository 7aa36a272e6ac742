import { type Context, type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { type BackoffOptions, Headers, PermanentError, backoffDelay, errorCode, errorMessage } from '@qls/messaging';
import type { AdapterLogger } from './kafka-client';
import { deadLetterRecord } from './kafka.dead-letters';
import type { KafkaRecordPublisher } from './kafka.publisher';

/** Where a chunk being written came from. */
export interface BatchWriteContext {
  readonly topic: string;
  readonly partition: number;
}

/** Metric hooks of a {@link KafkaBatchConsumer}; each is optional. */
export interface KafkaBatchConsumerHooks {
  /** Records read from the topic (per chunk, before parsing). */
  readonly consumed?: (count: number) => void;
  /** Duration of a successful write of a chunk (its isolating splits included), in seconds. */
  readonly writeDuration?: (seconds: number) => void;
  /** What a chunk's write reported written (see {@link KafkaBatchConsumerOptions.write}), when more than 0. */
  readonly written?: (count: number) => void;
  /** A failed write attempt that will be retried; `reason` is the SQLSTATE or the error code. */
  readonly writeFailed?: (reason: string) => void;
  /** A record sent to the dead-letter topic, once the publish succeeded. */
  readonly deadLettered?: (code: string) => void;
}

export interface KafkaBatchConsumerOptions<T> {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  /**
   * Records that cannot be parsed or written go here, byte for byte with
   * `x-error-code` / `x-error-reason` headers (a reference when too large:
   * {@link deadLetterRecord}), before their offset is committed.
   */
  readonly deadLetterTopic: string;
  readonly deadLetterPublisher: KafkaRecordPublisher;
  /** Reads a record; a throw sends the record to the dead-letter topic with the thrown error as its reason. */
  readonly parse: (message: KafkaMessage) => T;
  /**
   * Writes the parsed records of a chunk at once (may be empty when all were
   * unreadable). A throw is retried in place with backoff, unless
   * {@link isRefused} says the database refused the data. Returns how much it
   * wrote (rows, points) for the `written` hook; nothing means `records.length`.
   */
  readonly write: (records: T[], context: BatchWriteContext) => Promise<number | void>;
  /**
   * Whether a write failed because of the data in it. When given, such a chunk
   * is halved (in order: two halves must equal the whole) until the refused
   * records are alone; each is dead-lettered with {@link refusalError}.
   */
  readonly isRefused?: (error: unknown) => boolean;
  /** The dead-letter reason of a refused record. @defaultValue a `PermanentError` `KAFKA.REJECTED_BY_DATABASE` */
  readonly refusalError?: (error: unknown) => unknown;
  /** Headers added to every dead letter (e.g. the consumer group). */
  readonly deadLetterHeaders?: Readonly<Record<string, string>>;
  readonly hooks?: KafkaBatchConsumerHooks;
  readonly logger?: AdapterLogger;
  /** Fields added to every log line (e.g. the projection). */
  readonly logFields?: Readonly<Record<string, unknown>>;
  /** The tracer of the per-chunk CONSUMER span. @defaultValue '@qls/kafka' */
  readonly tracerName?: string;
  /** Most records per write; a larger fetched batch is written in chunks, each committed after its write. */
  readonly maxChunkRecords: number;
  /** @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /** Backoff between attempts of a write (or dead-letter publish) that failed. @defaultValue `{ initialMs: 200, maxMs: 30_000 }` */
  readonly retry?: BackoffOptions;
  /** Where a group with no committed offset starts. @defaultValue true */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /** Longest a fetch waits when there is nothing; also bounds how long `stop()` waits for an idle fetch. @defaultValue 500 */
  readonly maxWaitTimeMs?: number;
}

const defaultRetry: BackoffOptions = { initialMs: 200, maxMs: 30_000 };

interface Parsed<T> {
  readonly value: T;
  readonly record: KafkaMessage;
}

interface DeadLetter {
  readonly record: KafkaMessage;
  readonly error: unknown;
}

/**
 * A consumer group that writes a topic somewhere in chunks (kafkajs
 * `eachBatch`): each chunk of up to `maxChunkRecords` records is parsed, its
 * records written with ONE {@link KafkaBatchConsumerOptions.write}, its
 * unreadable (and refused) records dead-lettered with the reason, and only
 * then is its offset resolved and committed. A crash or a rebalance at any
 * point redelivers records rather than losing them; the write must be
 * idempotent.
 *
 * A write that fails for a reason other than its data (the database down, a
 * timeout, a lock) is retried in place with backoff, heartbeating: the
 * partition holds and its lag shows it; nothing is committed meanwhile, and
 * the retry gives up (uncommitted) once the consumer stops or loses the
 * partition. Nothing crash-loops and nothing is dropped silently.
 */
export class KafkaBatchConsumer<T> {
  private consumer: Consumer | undefined;
  private readonly retry: BackoffOptions;
  private readonly tracer;

  constructor(private readonly options: KafkaBatchConsumerOptions<T>) {
    this.retry = options.retry ?? defaultRetry;
    this.tracer = trace.getTracer(options.tracerName ?? '@qls/kafka');
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

  /**
   * Stops fetching, lets the chunk in progress finish its write (a write being
   * retried gives up; its records stay uncommitted and are redelivered) and
   * leaves the group.
   */
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
    const size = this.options.maxChunkRecords;
    for (let start = 0; start < messages.length; start += size) {
      if (!live()) return;
      const chunk = messages.slice(start, start + size);
      const done = await this.writeChunk(topic, partition, chunk, heartbeat, live);
      if (!done) return; // stopping or revoked: the rest stays uncommitted and is redelivered
      const last = (chunk[chunk.length - 1] as KafkaMessage).offset;
      resolveOffset(last);
      // Committed only now: after the write (and the dead letters) of every record up to `last`.
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await heartbeat();
    }
  }

  /** Writes a chunk; false when it gave up because the consumer is stopping or lost the partition. */
  private async writeChunk(
    topic: string,
    partition: number,
    records: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<boolean> {
    const { hooks, logger, logFields, deadLetterTopic } = this.options;
    hooks?.consumed?.(records.length);
    const parsed: Parsed<T>[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const record of records) {
      try {
        parsed.push({ value: this.options.parse(record), record });
      } catch (error) {
        deadLetters.push({ record, error });
      }
    }
    return this.withBatchSpan(topic, records, async () => {
      const result = await this.untilDone('write', topic, partition, heartbeat, live, async () => {
        const started = performance.now();
        const outcome = await this.writeIsolatingRefusals(parsed, { topic, partition });
        hooks?.writeDuration?.((performance.now() - started) / 1000);
        return outcome;
      });
      if (result === undefined) return false;
      const { written, refused } = result.value;
      if (written > 0) hooks?.written?.(written);
      for (const { item, error } of refused) deadLetters.push({ record: item.record, error: this.refusalError(error) });
      if (deadLetters.length === 0) return true;
      const sent = await this.untilDone('dead-letter', topic, partition, heartbeat, live, () =>
        this.options.deadLetterPublisher.publishRecords(
          deadLetterTopic,
          deadLetters.map(({ record, error }) =>
            deadLetterRecord({ topic, partition }, record, error, { extraHeaders: this.options.deadLetterHeaders }),
          ),
        ),
      );
      if (sent === undefined) return false;
      for (const { error } of deadLetters) hooks?.deadLettered?.(errorCode(error));
      const first = deadLetters[0];
      logger?.warn(
        {
          topic,
          partition,
          ...logFields,
          deadLetterTopic,
          count: deadLetters.length,
          first: { offset: first?.record.offset, code: errorCode(first?.error), reason: errorMessage(first?.error) },
        },
        'records sent to the dead-letter topic',
      );
      return true;
    });
  }

  /**
   * Writes the items at once; when the data is refused ({@link KafkaBatchConsumerOptions.isRefused}),
   * halves the list (in order) until the refused items are alone, and returns them.
   */
  private async writeIsolatingRefusals(
    items: readonly Parsed<T>[],
    context: BatchWriteContext,
  ): Promise<{ written: number; refused: { item: Parsed<T>; error: unknown }[] }> {
    if (items.length === 0) return { written: 0, refused: [] };
    try {
      const written = await this.options.write(
        items.map((item) => item.value),
        context,
      );
      return { written: written ?? items.length, refused: [] };
    } catch (error) {
      if (!this.options.isRefused?.(error)) throw error;
      if (items.length === 1) return { written: 0, refused: [{ item: items[0] as Parsed<T>, error }] };
      const middle = Math.ceil(items.length / 2);
      const first = await this.writeIsolatingRefusals(items.slice(0, middle), context);
      const second = await this.writeIsolatingRefusals(items.slice(middle), context);
      return { written: first.written + second.written, refused: [...first.refused, ...second.refused] };
    }
  }

  private refusalError(error: unknown): unknown {
    if (this.options.refusalError) return this.options.refusalError(error);
    return new PermanentError('KAFKA.REJECTED_BY_DATABASE', `the database refused the record: ${errorMessage(error)}`);
  }

  /**
   * Runs `work` until it succeeds, backing off between attempts (heartbeating,
   * so a long outage does not cost the group membership); undefined once the
   * consumer is stopping or lost the partition, `{ value }` otherwise.
   */
  private async untilDone<R>(
    what: 'write' | 'dead-letter',
    topic: string,
    partition: number,
    heartbeat: () => Promise<void>,
    live: () => boolean,
    work: () => Promise<R>,
  ): Promise<{ value: R } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await work() };
      } catch (error) {
        const reason = sqlstateOf(error) ?? errorCode(error);
        if (what === 'write') this.options.hooks?.writeFailed?.(reason);
        if (!live()) return undefined;
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger?.warn(
          { topic, partition, ...this.options.logFields, attempt, delayMs, reason, err: errorMessage(error) },
          `${what} failed; retrying in place (the partition holds until it succeeds)`,
        );
        if (!(await pause(delayMs, heartbeat, live))) return undefined;
      }
    }
  }

  /**
   * One CONSUMER span per chunk, linked to the traces its records carry (up to
   * 32), and the child of that trace when they all carry the same one: the
   * producing request's trace continues to the write.
   */
  private async withBatchSpan<R>(topic: string, records: readonly KafkaMessage[], work: () => Promise<R>): Promise<R> {
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
    return this.tracer.startActiveSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.consumer.group.name': this.options.groupId,
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
