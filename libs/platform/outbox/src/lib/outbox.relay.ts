import type { Pool, PoolClient } from 'pg';
import {
  type MessagePublisher,
  type OutboundMessage,
  PermanentError,
  backoffDelay,
  errorCode,
  errorMessage,
  isRetriable,
} from '@qls/messaging';
import { type Claimed, type OutboxRow, claim, deletePublished, markFailed, markPublished, stats } from './outbox.store';
import type { OutboxMetrics } from './outbox.metrics';
import { OutboxHeaders } from './outbox.writer';

export interface RelayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxRelayOptions {
  readonly pool: Pool;
  /** Publishers by destination kind; a row for a kind without one is parked. */
  readonly publishers: { readonly kafka?: MessagePublisher; readonly sqs?: MessagePublisher };
  /** Maps an SQS queue name to its URL (resolved once, cached by the caller). */
  readonly sqsQueueUrl?: (queueName: string) => Promise<string>;
  /**
   * Claim loops running at once in this process, each on its own connection.
   * @defaultValue 2
   */
  readonly concurrency?: number;
  /** @defaultValue 1000 rows per claim */
  readonly batchSize?: number;
  /** @defaultValue 16 buckets per claim (of 64) */
  readonly bucketsPerClaim?: number;
  /**
   * How long a claim loop woken by a commit (NOTIFY) waits before claiming, so
   * that a stream of small commits is published in batches rather than a row
   * or two per claim, publish call and mark (Kafka's `linger.ms`). A loop
   * draining a backlog does not wait.
   * @defaultValue 10
   */
  readonly lingerMs?: number;
  /**
   * Fallback poll when no NOTIFY arrives (notifications are lost while the
   * listener is down, and rows backing off become due silently).
   * @defaultValue 1000
   */
  readonly pollIntervalMs?: number;
  /** @defaultValue 10 — then the row is parked */
  readonly maxAttempts?: number;
  /** @defaultValue `{ initialMs: 500, maxMs: 60_000 }` */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  /** How long published rows are kept. @defaultValue 24 h */
  readonly retentionMs?: number;
  /** @defaultValue 60_000 */
  readonly cleanupIntervalMs?: number;
  /** @defaultValue 5_000 */
  readonly statsIntervalMs?: number;
  readonly metrics?: OutboxMetrics;
  readonly logger?: RelayLogger;
  /** Test failpoint: runs after the broker acknowledged a batch and before it is marked published. */
  readonly afterPublish?: (rows: readonly OutboxRow[]) => Promise<void> | void;
}

/**
 * Publishes committed outbox rows to Kafka / SQS — at least once, in order per
 * aggregate, from any number of relay processes (docs/adr/0004).
 *
 * Each claim loop: BEGIN; lock a few buckets with SKIP LOCKED; read their
 * pending rows in id order; publish them (batched per destination); mark them
 * published, or record the failure with a backoff; COMMIT. A crash before
 * COMMIT releases the locks and leaves the rows pending: they are published
 * again (at-least-once — consumers dedupe by `event-id`), never lost. No
 * "last id seen" cursor: a row whose transaction commits late is still
 * pending, so it is found on a later claim.
 */
export class OutboxRelay {
  private readonly options: Required<
    Pick<
      OutboxRelayOptions,
      | 'concurrency'
      | 'batchSize'
      | 'bucketsPerClaim'
      | 'lingerMs'
      | 'pollIntervalMs'
      | 'maxAttempts'
      | 'retentionMs'
      | 'cleanupIntervalMs'
      | 'statsIntervalMs'
      | 'retry'
    >
  > &
    OutboxRelayOptions;
  private running = false;
  private listener: PoolClient | undefined;
  private readonly wakers = new Set<() => void>();
  /** Counts NOTIFY wake-ups, so a claim loop can tell one came during its cycle. */
  private wakeUps = 0;
  private loops: Promise<void>[] = [];
  private timers: NodeJS.Timeout[] = [];

  constructor(options: OutboxRelayOptions) {
    this.options = {
      concurrency: 2,
      batchSize: 1_000,
      bucketsPerClaim: 16,
      lingerMs: 10,
      pollIntervalMs: 1_000,
      maxAttempts: 10,
      retentionMs: 24 * 3_600_000,
      cleanupIntervalMs: 60_000,
      statsIntervalMs: 5_000,
      retry: { initialMs: 500, maxMs: 60_000 },
      ...options,
    };
  }

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    this.loops = Array.from({ length: this.options.concurrency }, (_, worker) => this.claimLoop(worker));
    this.every(this.options.cleanupIntervalMs, () => this.cleanup());
    this.every(this.options.statsIntervalMs, () => this.refreshStats());
  }

  /** Stops claiming, lets in-flight batches finish (publish + mark), releases the listener. */
  async stop(): Promise<void> {
    this.running = false;
    this.timers.forEach(clearInterval);
    this.wakeAll();
    await Promise.all(this.loops);
    if (this.listener) {
      this.listener.removeAllListeners('notification');
      await this.listener.query('UNLISTEN outbox').catch(() => undefined);
      this.listener.release();
      this.listener = undefined;
    }
  }

  /** One claim → publish → mark cycle; returns how many rows it handled. Exposed for tools and tests. */
  async runOnce(): Promise<number> {
    return (await this.cycle()).rows.length;
  }

  private async cycle(): Promise<Claimed> {
    const client = await this.options.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const claimed = await claim(client, this.options.bucketsPerClaim, this.options.batchSize);
      if (claimed.rows.length > 0) await this.publishAndMark(client, claimed.rows);
      await client.query('COMMIT');
      return claimed;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async claimLoop(worker: number): Promise<void> {
    while (this.running) {
      let more = false;
      // A NOTIFY that arrives while this cycle runs must not be lost: the loop
      // would sleep until the poll although a commit it did not see is waiting.
      const seen = this.wakeUps;
      try {
        ({ more } = await this.cycle());
      } catch (error) {
        this.options.logger?.error({ worker, err: errorMessage(error) }, 'outbox claim cycle failed; retrying after the poll interval');
      }
      // Go again at once only while a backlog is draining; otherwise sleep until
      // NOTIFY or the poll — a trickle of commits must not keep the loops spinning.
      if (!more && this.running && this.wakeUps === seen) {
        await this.waitForWork();
        if (this.running && this.options.lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.lingerMs));
      }
    }
  }

  private async publishAndMark(client: PoolClient, rows: readonly OutboxRow[]): Promise<void> {
    const byDestination = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const batch = byDestination.get(row.destination);
      if (batch) batch.push(row);
      else byDestination.set(row.destination, [row]);
    }
    const published: OutboxRow[] = [];
    await Promise.all(
      [...byDestination].map(async ([destination, batch]) => {
        const started = performance.now();
        try {
          await this.publish(destination, batch);
          published.push(...batch);
          this.options.metrics?.published.inc({ destination }, batch.length);
          this.options.metrics?.publishDuration.observe({ destination }, (performance.now() - started) / 1000);
        } catch (error) {
          await this.recordFailure(client, destination, batch, error);
        }
      }),
    );
    await this.options.afterPublish?.(published);
    const latencies = await markPublished(
      client,
      published.map((r) => r.id),
    );
    for (const seconds of latencies) this.options.metrics?.publishLatency.observe(seconds);
  }

  private async publish(destination: string, rows: readonly OutboxRow[]): Promise<void> {
    const separator = destination.indexOf(':');
    const kind = destination.slice(0, separator);
    const name = destination.slice(separator + 1);
    const messages: OutboundMessage[] = rows.map((row) => ({
      key: row.key,
      body: row.payload,
      deduplicationId: row.eventId,
      headers: {
        ...row.headers,
        [OutboxHeaders.eventId]: row.eventId,
        [OutboxHeaders.eventType]: row.eventType,
        [OutboxHeaders.aggregateType]: row.aggregateType,
        [OutboxHeaders.aggregateId]: row.aggregateId,
      },
    }));
    if (kind === 'kafka' && this.options.publishers.kafka) return this.options.publishers.kafka.publish(name, messages);
    if (kind === 'sqs' && this.options.publishers.sqs && this.options.sqsQueueUrl) {
      return this.options.publishers.sqs.publish(await this.options.sqsQueueUrl(name), messages);
    }
    throw new PermanentError('OUTBOX.UNROUTABLE', `no publisher configured for destination ${destination}`);
  }

  private async recordFailure(client: PoolClient, destination: string, rows: readonly OutboxRow[], error: unknown): Promise<void> {
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const park = !isRetriable(error) || attempts >= this.options.maxAttempts;
    const retryInMs = backoffDelay(attempts, this.options.retry);
    this.options.metrics?.failures.inc({ destination, code: errorCode(error) }, rows.length);
    this.options.logger?.[park ? 'error' : 'warn'](
      {
        destination,
        rows: rows.length,
        attempts,
        retryInMs: park ? undefined : retryInMs,
        code: errorCode(error),
        err: errorMessage(error),
      },
      park ? 'outbox rows parked: they will not be retried until someone retries them' : 'outbox publish failed; backing off',
    );
    await markFailed(
      client,
      rows.map((r) => r.id),
      `${errorCode(error)}: ${errorMessage(error)}`,
      retryInMs,
      park,
    );
  }

  private async listen(): Promise<void> {
    try {
      this.listener = await this.options.pool.connect();
      this.listener.on('notification', () => this.wakeAll());
      this.listener.on('error', (error) => {
        this.options.logger?.warn({ err: errorMessage(error) }, 'outbox LISTEN connection lost; relying on polling until it is back');
        this.listener?.release(true);
        this.listener = undefined;
        setTimeout(() => void (this.running && this.listen()), this.options.pollIntervalMs);
      });
      await this.listener.query('LISTEN outbox');
    } catch (error) {
      this.options.logger?.warn({ err: errorMessage(error) }, 'could not LISTEN for outbox notifications; polling only');
    }
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.options.pollIntervalMs);
      this.wakers.add(wake);
    });
  }

  private wakeAll(): void {
    this.wakeUps += 1;
    for (const wake of [...this.wakers]) wake();
  }

  private every(ms: number, task: () => Promise<void>): void {
    this.timers.push(setInterval(() => void task(), ms));
  }

  private async cleanup(): Promise<void> {
    try {
      const deleted = await deletePublished(this.options.pool, this.options.retentionMs);
      if (deleted > 0) this.options.logger?.info({ deleted }, 'deleted published outbox rows past retention');
    } catch (error) {
      this.options.logger?.warn({ err: errorMessage(error) }, 'outbox cleanup failed');
    }
  }

  private async refreshStats(): Promise<void> {
    if (!this.options.metrics) return;
    try {
      const current = await stats(this.options.pool);
      this.options.metrics.backlog.set(current.pending);
      this.options.metrics.oldestPendingAge.set(current.oldestPendingAgeSeconds);
      this.options.metrics.parked.set(current.parked);
    } catch (error) {
      this.options.logger?.warn({ err: errorMessage(error) }, 'outbox stats query failed');
    }
  }
}
