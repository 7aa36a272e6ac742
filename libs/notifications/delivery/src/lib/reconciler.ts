import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { errorMessage } from '@qls/messaging';
import { type DeadLetterMessage, DeadLetterQueue, SqsPublisher, type SqsLogger } from '@qls/sqs';
import type { NotificationWorkerMetrics } from './notification.metrics';

export interface NotificationReconcilerOptions {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /**
   * A `sending` row whose lease ended this long ago has lost its message: a
   * live one comes back within the visibility timeout of its holder's death,
   * or right after the lease (a "busy" receive waits for it).
   * @defaultValue 60_000 (twice the 30 s visibility timeout)
   */
  readonly sendingGraceMs?: number;
  /**
   * A `failed` row untouched this long has lost its message: a live one comes
   * back after its backoff (at most 300 s).
   * @defaultValue 360_000
   */
  readonly failedGraceMs?: number;
  /** @defaultValue 30_000 */
  readonly intervalMs?: number;
  /** Rows repaired per round. @defaultValue 500 */
  readonly maxRows?: number;
  /** Dead letters read looking for stale rows' messages. @defaultValue 1_000 */
  readonly maxScan?: number;
  readonly metrics?: NotificationWorkerMetrics;
  readonly logger?: SqsLogger;
}

/** One reconciler at a time across the worker's replicas (a session lock: a dead process releases it). */
const RECONCILER_LOCK = 'notification-reconciler';

/**
 * Makes every notification's status converge when the normal path cannot:
 * a row left `sending` past its lease, or `failed` past its longest backoff,
 * whose message is gone. For each round (every `intervalMs`, one replica at a time):
 *
 * - its message is in the DLQ (moved there by the queue's RedrivePolicy, the
 *   safety net, or dead-lettered by a worker that died before recording it):
 *   the row becomes `dead_lettered`, with the copy's reason, or
 *   `SQS.MAX_RECEIVES` when the queue moved it without one;
 * - otherwise its message was lost (deleted by a stale worker, expired): a
 *   fresh copy is published and the row is `queued` again. The SendGuard
 *   makes a copy that was not lost after all harmless (done or busy).
 *
 * A sent row is never touched. Bound: a row is `sending` at most its lease +
 * `sendingGraceMs` + `intervalMs` (90 s past its lease by default) before it
 * is settled or queued again.
 */
export class NotificationReconciler {
  private readonly publisher: SqsPublisher;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private deadLetters: Promise<DeadLetterQueue> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly sqs: SQSClient,
    private readonly options: NotificationReconcilerOptions,
  ) {
    this.publisher = new SqsPublisher(sqs);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.reconcile()
        .catch((error: unknown) => this.options.logger?.warn({ err: errorMessage(error) }, 'notification reconciler round failed'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs ?? 30_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round; what it repaired. Nothing when another replica holds the round's lock. */
  async reconcile(): Promise<{ deadLettered: number; requeued: number }> {
    const client = await this.pool.connect();
    try {
      const { rows: locked } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
        RECONCILER_LOCK,
      ]);
      if (!locked[0]?.locked) return { deadLettered: 0, requeued: 0 };
      try {
        return await this.round();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [RECONCILER_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  private async round(): Promise<{ deadLettered: number; requeued: number }> {
    const unsettled = await this.staleRows();
    if (unsettled.length === 0) return { deadLettered: 0, requeued: 0 };

    const dead = await this.deadLettersById();
    const inDlq = unsettled.filter((row) => dead.has(row.id));
    for (const row of inDlq) {
      const copy = dead.get(row.id);
      const reason =
        copy?.errorCode != null
          ? `${copy.errorCode}: ${copy.errorReason ?? ''}`
          : `SQS.MAX_RECEIVES: the queue's RedrivePolicy moved its message to the DLQ after ${copy?.receiveCount ?? 'its maximum'} receives, without a recorded failure`;
      await this.pool.query(
        `UPDATE notifications SET status = 'dead_lettered', last_error = $2, updated_at = now(), lease_token = NULL, lease_until = NULL
          WHERE id = $1 AND ${stale('$3', '$4')}`,
        [row.id, reason, this.sendingGraceMs, this.failedGraceMs],
      );
    }

    const lost = unsettled.filter((row) => !dead.has(row.id));
    if (lost.length > 0) {
      await this.publisher.publish(
        this.options.queueUrl,
        lost.map((row) => ({
          key: row.user_id,
          deduplicationId: `reconciled-${row.id}-${Date.now()}`,
          body: JSON.stringify({
            schemaVersion: 1,
            notificationId: row.id,
            userId: row.user_id,
            channel: row.channel,
            template: row.template,
            data: row.data,
          }),
        })),
      );
      // After the publish: a crash in between leaves the row stale, and the next round publishes again (harmless).
      await this.pool.query(
        `UPDATE notifications SET status = 'queued', updated_at = now(), lease_token = NULL, lease_until = NULL
          WHERE id = ANY($1::uuid[]) AND ${stale('$2', '$3')}`,
        [lost.map((row) => row.id), this.sendingGraceMs, this.failedGraceMs],
      );
    }
    this.options.metrics?.reconciled.inc({ action: 'dead_lettered' }, inDlq.length);
    this.options.metrics?.reconciled.inc({ action: 'requeued' }, lost.length);
    this.options.logger?.warn(
      { deadLettered: inDlq.map((row) => row.id), requeued: lost.map((row) => row.id) },
      'reconciled notifications whose message was gone',
    );
    return { deadLettered: inDlq.length, requeued: lost.length };
  }

  private get sendingGraceMs(): number {
    return this.options.sendingGraceMs ?? 60_000;
  }

  private get failedGraceMs(): number {
    return this.options.failedGraceMs ?? 360_000;
  }

  private async staleRows(): Promise<StaleRow[]> {
    const { rows } = await this.pool.query<StaleRow>(
      `SELECT id, user_id, channel, template, data FROM notifications WHERE ${stale('$2', '$3')} LIMIT $1`,
      [this.options.maxRows ?? 500, this.sendingGraceMs, this.failedGraceMs],
    );
    return rows;
  }

  /** The DLQ's messages by notification id (read, not removed). */
  private async deadLettersById(): Promise<Map<string, DeadLetterMessage>> {
    this.deadLetters ??= DeadLetterQueue.open(this.sqs, {
      queueUrl: this.options.deadLetterQueueUrl,
      sourceQueueUrl: this.options.queueUrl,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    }).catch((error: unknown) => {
      this.deadLetters = undefined;
      throw error;
    });
    const messages = await (await this.deadLetters).list(this.options.maxScan ?? 1_000);
    const byId = new Map<string, DeadLetterMessage>();
    for (const message of messages) {
      const id = NOTIFICATION_ID.exec(message.body)?.[1];
      if (id !== undefined) byId.set(id, message);
    }
    return byId;
  }
}

interface StaleRow {
  readonly id: string;
  readonly user_id: string;
  readonly channel: string;
  readonly template: string;
  readonly data: unknown;
}

/** A row whose message may be gone; the parameters hold the sending and the failed grace, in ms. */
function stale(sendingGrace: string, failedGrace: string): string {
  return `(
    (status = 'sending' AND lease_until < now() - make_interval(secs => ${sendingGrace}::double precision / 1000))
    OR (status = 'failed' AND updated_at < now() - make_interval(secs => ${failedGrace}::double precision / 1000))
  )`;
}

/** The id in a NotificationRequested.v1 body, even one cut to a preview. */
const NOTIFICATION_ID = /"notificationId"\s*:\s*"([0-9a-fA-F-]{36})"/;
