import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { Coalescer } from '@qls/batching';
import { PermanentError, RetriableError } from '@qls/messaging';
import type { Channel } from '../contracts';
import type { NotificationProvider, SendOutcome, SendRequest } from './provider.port';

/** How a local provider misbehaves; set per channel (env `LOCAL_PROVIDER_FAULTS`, or in tests). */
export interface ProviderFaults {
  /** Share of sends failing with a transient error, 0..1. */
  readonly transientRate?: number;
  /** Every send is rejected (permanent error). */
  readonly permanent?: boolean;
  /** Added to every send, in ms. */
  readonly latencyMs?: number;
  /** Share of notifications, 0..1, whose first send fails transiently (chosen by a hash of the id, so deterministic). */
  readonly failFirstSendOf?: number;
}

/**
 * A provider that records every call in `provider_sends` — so tests and
 * benchmarks can count calls and deliveries per notification — honours the
 * idempotency key like a real one (a repeat is not delivered twice), and fails
 * on demand. Stands in for APNs/FCM, an email API or an SMS gateway.
 *
 * Concurrent sends are recorded with one INSERT per batch — this bookkeeping
 * is the stand-in's, not the service's, and should not cost the database
 * what a real provider would cost the provider.
 */
export class LocalProvider implements NotificationProvider {
  private readonly failedOnce = new Set<string>();
  private readonly records = new Coalescer<SendRequest, SendOutcome>({ run: (requests) => this.record(requests), maxInFlight: 2 });

  constructor(
    readonly channel: Channel,
    private readonly pool: Pool,
    public faults: ProviderFaults = {},
    private readonly random: () => number = Math.random,
  ) {}

  async send(request: SendRequest): Promise<SendOutcome> {
    if (this.faults.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.faults.latencyMs));
    if (this.faults.permanent) {
      throw new PermanentError('PROVIDER.REJECTED', `${this.channel} provider rejected notification ${request.notificationId}`);
    }
    if (
      this.faults.failFirstSendOf &&
      !this.failedOnce.has(request.notificationId) &&
      share(request.notificationId) < this.faults.failFirstSendOf
    ) {
      this.failedOnce.add(request.notificationId);
      throw new RetriableError('PROVIDER.UNAVAILABLE', `${this.channel} provider timed out (first send of ${request.notificationId})`);
    }
    if (this.random() < (this.faults.transientRate ?? 0)) {
      throw new RetriableError('PROVIDER.UNAVAILABLE', `${this.channel} provider timed out`);
    }
    return this.records.submit(request);
  }

  /**
   * Delivered once per idempotency key; a repeat is recorded as a duplicate
   * call and answered `replayed`, as real providers answer a repeated key. The first INSERT delivers, for each key, the batch's first call
   * unless an earlier call delivered it; the second records the rest.
   */
  private async record(requests: readonly SendRequest[]): Promise<SendOutcome[]> {
    const { rows } = await this.pool.query<{ idempotency_key: string }>(
      `INSERT INTO provider_sends (notification_id, channel, idempotency_key, duplicate, payload)
       SELECT DISTINCT ON (idempotency_key) notification_id, $2, idempotency_key, false, payload
         FROM unnest($1::uuid[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS c(notification_id, idempotency_key, payload, n)
        ORDER BY idempotency_key, n
       ON CONFLICT (channel, idempotency_key) WHERE NOT duplicate DO NOTHING
       RETURNING idempotency_key`,
      columns(this.channel, requests),
    );
    const delivering = new Set(rows.map((r) => r.idempotency_key));
    const outcomes = requests.map((r) => ({ replayed: !delivering.delete(r.idempotencyKey) }));
    const repeats = requests.filter((_, index) => outcomes[index]?.replayed);
    if (repeats.length > 0) {
      await this.pool.query(
        `INSERT INTO provider_sends (notification_id, channel, idempotency_key, duplicate, payload)
         SELECT notification_id, $2, idempotency_key, true, payload FROM unnest($1::uuid[], $3::text[], $4::jsonb[]) AS c(notification_id, idempotency_key, payload)`,
        columns(this.channel, repeats),
      );
    }
    return outcomes;
  }
}

function columns(channel: Channel, requests: readonly SendRequest[]): unknown[] {
  return [
    requests.map((r) => r.notificationId),
    channel,
    requests.map((r) => r.idempotencyKey),
    requests.map((r) => JSON.stringify({ userId: r.userId, template: r.template, data: r.data })),
  ];
}

/** A stable number in [0, 1) from an id. */
function share(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
