import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { PermanentError, RetriableError } from '@qls/messaging';
import type { Channel } from '../contracts';
import type { NotificationProvider, SendRequest } from './provider.port';

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
 */
export class LocalProvider implements NotificationProvider {
  private readonly failedOnce = new Set<string>();

  constructor(
    readonly channel: Channel,
    private readonly pool: Pool,
    public faults: ProviderFaults = {},
    private readonly random: () => number = Math.random,
  ) {}

  async send(request: SendRequest): Promise<void> {
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
    // Delivered once per idempotency key; a repeat is recorded as a duplicate call.
    await this.pool.query(
      `INSERT INTO provider_sends (notification_id, channel, idempotency_key, duplicate, payload)
       SELECT $1, $2, $3, EXISTS (SELECT 1 FROM provider_sends WHERE channel = $2 AND idempotency_key = $3 AND NOT duplicate), $4`,
      [
        request.notificationId,
        this.channel,
        request.idempotencyKey,
        JSON.stringify({ userId: request.userId, template: request.template, data: request.data }),
      ],
    );
  }
}

/** A stable number in [0, 1) from an id. */
function share(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
