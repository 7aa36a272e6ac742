import type { Context } from '@opentelemetry/api';
import type { Pool, PoolClient } from 'pg';
import { Headers, injectTraceContext } from '@qls/messaging';

/** Where the relay publishes an event: a Kafka topic or an SQS queue (by name). */
export type Destination = { readonly kafka: string } | { readonly sqs: string };

export interface OutboxEvent {
  readonly aggregateType: string;
  /** Events of one aggregate are published in the order they were enqueued. */
  readonly aggregateId: string;
  /** Past tense with a version, e.g. `NotificationRequested.v1`. */
  readonly eventType: string;
  readonly payload: unknown;
  readonly destination: Destination;
  /** Kafka key / SQS FIFO group. @defaultValue the aggregate id */
  readonly key?: string;
  /** Extra headers to carry; the writer adds the trace context of {@link OutboxEvent.context}. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The trace this event continues. A writer that batches the work of several
   * requests in one transaction passes each request's own context, captured
   * when the request came in; otherwise the active one is right.
   * @defaultValue the active context
   */
  readonly context?: Context;
}

const brand: unique symbol = Symbol('Transaction');

/**
 * A database transaction in progress. Only {@link inTransaction} makes one, so
 * {@link enqueue} cannot be handed a pool or a client outside a transaction:
 * the outbox row commits or rolls back with the business rows, or not at all.
 */
export interface Transaction {
  readonly client: PoolClient;
  readonly [brand]: true;
}

/**
 * Runs `work` in one transaction on one pooled connection: COMMIT when it
 * resolves, ROLLBACK when it throws (and rethrows).
 */
export async function inTransaction<T>(pool: Pool, work: (tx: Transaction) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work({ client, [brand]: true });
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    // A connection whose ROLLBACK failed is in an unknown state: drop it.
    client.release(broken);
  }
}

export interface EnqueuedEvent {
  readonly id: string;
  readonly eventId: string;
}

/**
 * Writes outbox rows inside the caller's transaction (one INSERT for all of
 * them). Each row stores the W3C trace context of its event's `context` (the
 * active one by default), so the trace continues from the request that
 * created it through the relay to the consumers.
 * Commit wakes the relays (a statement trigger NOTIFYs `outbox`).
 */
export async function enqueue(tx: Transaction, events: readonly OutboxEvent[]): Promise<EnqueuedEvent[]> {
  if (events.length === 0) return [];
  const columns = {
    aggregateType: [] as string[],
    aggregateId: [] as string[],
    eventType: [] as string[],
    payload: [] as string[],
    destination: [] as string[],
    key: [] as (string | null)[],
    headers: [] as string[],
  };
  for (const event of events) {
    columns.aggregateType.push(event.aggregateType);
    columns.aggregateId.push(event.aggregateId);
    columns.eventType.push(event.eventType);
    columns.payload.push(JSON.stringify(event.payload));
    columns.destination.push(destinationToString(event.destination));
    columns.key.push(event.key ?? null);
    columns.headers.push(JSON.stringify(injectTraceContext(event.headers, event.context)));
  }
  const { rows } = await tx.client.query<{ id: string; event_id: string }>(
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination, message_key, headers)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::jsonb[])
     RETURNING id, event_id`,
    Object.values(columns),
  );
  return rows.map((row) => ({ id: row.id, eventId: row.event_id }));
}

export function destinationToString(destination: Destination): string {
  return 'kafka' in destination ? `kafka:${destination.kafka}` : `sqs:${destination.sqs}`;
}

/** Header names the relay sets on every published message, besides the stored ones. */
export const OutboxHeaders = {
  eventId: Headers.eventId,
  eventType: 'event-type',
  aggregateType: 'aggregate-type',
  aggregateId: 'aggregate-id',
} as const;
