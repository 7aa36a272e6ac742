import { type Context, type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { type BackoffOptions, Headers, PermanentError, errorCode, errorMessage } from '@qls/messaging';
import type { AdapterLogger } from './kafka-client';
import { type ChunkContext, ChunkedGroupConsumer, recordHeaders, retryInPlace } from './kafka.chunked-group';
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

/**
 * The settings of the group and its dead letters, which a consumer built on
 * {@link KafkaBatchConsumer} takes from its own options as they are.
 */
export type KafkaGroupSettings = Pick<
  KafkaBatchConsumerOptions<unknown>,
  | 'kafka'
  | 'groupId'
  | 'topic'
  | 'deadLetterTopic'
  | 'deadLetterPublisher'
  | 'logger'
  | 'partitionsConsumedConcurrently'
  | 'retry'
  | 'fromBeginning'
  | 'sessionTimeoutMs'
  | 'maxWaitTimeMs'
>;

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
export class KafkaBatchConsumer<T> extends ChunkedGroupConsumer {
  private readonly retry: BackoffOptions;
  private readonly tracer;

  constructor(private readonly options: KafkaBatchConsumerOptions<T>) {
    super(options);
    this.retry = options.retry ?? defaultRetry;
    this.tracer = trace.getTracer(options.tracerName ?? '@qls/kafka');
  }

  /** Writes a chunk; false when it gave up because the consumer is stopping or lost the partition. */
  protected async handleChunk(records: readonly KafkaMessage[], context: ChunkContext): Promise<boolean> {
    const { topic, partition } = context;
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
      const result = await this.untilDone('write', context, async () => {
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
      const sent = await this.untilDone('dead-letter', context, () =>
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

  /** Runs `work` until it succeeds ({@link retryInPlace}), counting and logging each failed attempt. */
  private untilDone<R>(what: 'write' | 'dead-letter', context: ChunkContext, work: () => Promise<R>): Promise<{ value: R } | undefined> {
    const { topic, partition } = context;
    return retryInPlace(
      context,
      {
        backoff: this.retry,
        failed: (error) => {
          if (what === 'write') this.options.hooks?.writeFailed?.(reasonOf(error));
        },
        retrying: (error, attempt, delayMs) =>
          this.options.logger?.warn(
            { topic, partition, ...this.options.logFields, attempt, delayMs, reason: reasonOf(error), err: errorMessage(error) },
            `${what} failed; retrying in place (the partition holds until it succeeds)`,
          ),
      },
      work,
    );
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
      contexts.set(traceparent, propagation.extract(ROOT_CONTEXT, recordHeaders(record)));
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

/** The SQLSTATE of a database error, else the error code. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : errorCode(error);
}
