import { type Context, type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { AdapterLogger } from '@qls/kafka';
import {
  type BackoffOptions,
  Headers,
  type MessagePublisher,
  type OutboundMessage,
  backoffDelay,
  errorCode,
  errorMessage,
} from '@qls/messaging';
import type { MetricPointsStore } from './metric-points.store';
import type { StorageMetrics } from './storage.metrics';
import { RecordErrorCode, type StoredPoint, UnstorableRecordError, toStoredPoint } from './stored-point';

export interface MetricsStorageConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  /** Records that cannot be stored go here, with `x-error-code` / `x-error-reason` headers, before their offset is committed. */
  readonly deadLetterTopic: string;
  readonly deadLetterPublisher: MessagePublisher;
  readonly store: MetricPointsStore;
  readonly metrics: StorageMetrics;
  readonly logger?: AdapterLogger;
  /**
   * Most points per write statement; a larger fetched batch is written in chunks, each committed after its write.
   * @defaultValue 5_000
   */
  readonly maxBatchPoints?: number;
  /** @defaultValue 3 */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Backoff between attempts of a write (or dead-letter publish) that failed with a retriable error.
   * @defaultValue `{ initialMs: 200, maxMs: 30_000 }`
   */
  readonly retry?: BackoffOptions;
  /**
   * Where a group with no committed offset starts: the storage keeps all that the topic retains.
   * @defaultValue true
   */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /**
   * Longest a fetch waits for records when there are none. Also bounds how long `stop()` waits for an idle fetch.
   * @defaultValue 500
   */
  readonly maxWaitTimeMs?: number;
}

const defaultRetry: BackoffOptions = { initialMs: 200, maxMs: 30_000 };
const tracer = trace.getTracer('@qls/metrics-storage');

/** A parsed point and the record it came from. */
type PointOfRecord = StoredPoint & { readonly record: KafkaMessage };

/**
 * The `storage` consumer group on `metrics-raw`: batch by batch (kafkajs
 * `eachBatch`), each batch of up to `maxBatchPoints` records is parsed,
 * its valid points are written with ONE idempotent statement
 * ({@link MetricPointsStore.write}), its bad records are dead-lettered with
 * the reason, and only then is its offset resolved and committed. So a crash
 * or a rebalance at any point redelivers records rather than losing them, and
 * a redelivered or replayed record rewrites the same row.
 *
 * A write that fails for a reason other than its data (Postgres down, a
 * timeout, a lock) is retried with backoff, in place: the partition holds and
 * its lag shows it; nothing is committed meanwhile. A point Postgres refuses
 * for its data is isolated (see {@link MetricPointsStore.writeIsolatingRejects})
 * and dead-lettered alone. Nothing crash-loops and nothing is dropped silently.
 */
export class MetricsStorageConsumer {
  private consumer: Consumer | undefined;
  private readonly retry: BackoffOptions;
  private readonly maxBatchPoints: number;

  constructor(private readonly options: MetricsStorageConsumerOptions) {
    this.retry = options.retry ?? defaultRetry;
    this.maxBatchPoints = options.maxBatchPoints ?? 5_000;
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
   * Stops fetching, lets the batch in progress finish its write (a write being
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
    for (let start = 0; start < messages.length; start += this.maxBatchPoints) {
      if (!live()) return;
      const chunk = messages.slice(start, start + this.maxBatchPoints);
      const done = await this.storeChunk(topic, partition, chunk, heartbeat, live);
      if (!done) return; // stopping or revoked: leave the rest uncommitted, it is redelivered
      const last = (chunk[chunk.length - 1] as KafkaMessage).offset;
      resolveOffset(last);
      // Committed only now: after the write (and the dead letters) of every record up to `last`.
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await heartbeat();
    }
  }

  /** Stores a chunk; false when it gave up because the consumer is stopping or lost the partition. */
  private async storeChunk(
    topic: string,
    partition: number,
    records: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
    live: () => boolean,
  ): Promise<boolean> {
    const { store, metrics } = this.options;
    metrics.recordsConsumed.inc(records.length);
    const points: PointOfRecord[] = [];
    const deadLetters: { record: KafkaMessage; error: unknown }[] = [];
    for (const record of records) {
      try {
        points.push({ ...toStoredPoint(record.value?.toString()), record });
      } catch (error) {
        deadLetters.push({ record, error });
      }
    }
    return withBatchSpan(topic, this.options.groupId, records, async () => {
      const result = await this.untilDone('write', topic, partition, heartbeat, live, async () => {
        const started = performance.now();
        const outcome = await store.writeIsolatingRejects(points);
        metrics.writeDuration.observe((performance.now() - started) / 1000);
        return outcome;
      });
      if (result === undefined) return false;
      const { value: outcome } = result;
      if (outcome.written > 0) {
        metrics.pointsWritten.inc(outcome.written);
        metrics.writeBatchPoints.observe(outcome.written);
      }
      for (const { point, error } of outcome.rejected) {
        const reason = `the database refused the point: ${error.message}`;
        deadLetters.push({ record: point.record, error: new UnstorableRecordError(RecordErrorCode.rejectedByDatabase, reason) });
      }
      if (deadLetters.length === 0) return true;
      const sent = await this.untilDone('dead-letter', topic, partition, heartbeat, live, () =>
        this.options.deadLetterPublisher.publish(
          this.options.deadLetterTopic,
          deadLetters.map(({ record, error }) => toDeadLetter(topic, partition, record, error)),
        ),
      );
      if (sent === undefined) return false;
      for (const { error } of deadLetters) metrics.deadLettered.inc({ code: errorCode(error) });
      this.options.logger?.warn(
        {
          topic,
          partition,
          deadLetterTopic: this.options.deadLetterTopic,
          count: deadLetters.length,
          first: {
            offset: deadLetters[0]?.record.offset,
            code: errorCode(deadLetters[0]?.error),
            reason: errorMessage(deadLetters[0]?.error),
          },
        },
        'records sent to the dead-letter topic',
      );
      return true;
    });
  }

  /**
   * Runs `work` until it succeeds, backing off between attempts (heartbeating,
   * so a long outage does not cost the group membership); undefined once the
   * consumer is stopping or lost the partition, `{ value }` otherwise.
   */
  private async untilDone<T>(
    what: string,
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
        if (what === 'write') this.options.metrics.writeFailures.inc({ reason });
        if (!live()) return undefined;
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.logger?.warn(
          { topic, partition, attempt, delayMs, reason, err: errorMessage(error) },
          `${what} failed; retrying in place (the partition holds until it succeeds)`,
        );
        if (!(await pause(delayMs, heartbeat, live))) return undefined;
      }
    }
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

/** The dead letter of a record: its key, value and headers, plus why and where from (the headers KafkaConsumer uses too). */
function toDeadLetter(topic: string, partition: number, record: KafkaMessage, error: unknown): OutboundMessage {
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
    },
  };
}

/**
 * One CONSUMER span per stored batch, linked to the traces its records carry
 * (up to 32), and the child of that trace when they all carry the same one
 * (one request's points): the ingest request's trace continues to the write.
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
