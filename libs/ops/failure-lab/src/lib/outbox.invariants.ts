import { InvariantCheck, type InvariantReport } from '@qls/testing';

/**
 * The outbox's promise (ADR 0004): every event whose transaction committed is
 * published at least once, and an aggregate's events first arrive in the
 * order they were committed; an event whose transaction rolled back is never
 * published. Redeliveries are allowed and counted.
 */
export const OUTBOX_INVARIANTS = ['lost', 'phantom', 'out of order'] as const;

/** An event the workload's transaction committed, in commit order (the outbox id). */
export interface CommittedEvent {
  readonly eventId: string;
  readonly aggregateId: string;
}

/** One arrival at the destination (a Kafka record, an SQS message), in the order the reader saw them per aggregate. */
export interface PublishedEvent {
  readonly eventId: string;
  readonly aggregateId: string;
}

/**
 * Checks the outbox's promise. `committed` in commit order; `published` in
 * arrival order (only the relative order within one aggregate is judged).
 * `rolledBack` lists events of transactions that did not commit, when known.
 */
export function checkOutbox(
  committed: readonly CommittedEvent[],
  published: readonly PublishedEvent[],
  rolledBack: readonly string[] = [],
): InvariantReport {
  const check = new InvariantCheck('outbox', OUTBOX_INVARIANTS);
  const committedIds = new Set(committed.map((event) => event.eventId));
  const rolledBackIds = new Set(rolledBack);
  const arrivals = new Map<string, number>();
  const firstArrivals = new Map<string, string[]>();
  for (const event of published) {
    const seen = arrivals.get(event.eventId) ?? 0;
    arrivals.set(event.eventId, seen + 1);
    if (seen > 0) continue;
    if (!committedIds.has(event.eventId)) {
      check.record();
      check.violated(
        'phantom',
        event.eventId,
        rolledBackIds.has(event.eventId)
          ? `published for aggregate ${event.aggregateId}, but its transaction rolled back`
          : `published for aggregate ${event.aggregateId}, but no committed transaction wrote it`,
      );
      continue;
    }
    firstArrivals.set(event.aggregateId, [...(firstArrivals.get(event.aggregateId) ?? []), event.eventId]);
  }
  const byAggregate = new Map<string, string[]>();
  for (const event of committed) {
    check.record();
    byAggregate.set(event.aggregateId, [...(byAggregate.get(event.aggregateId) ?? []), event.eventId]);
    const n = arrivals.get(event.eventId) ?? 0;
    if (n === 0) check.violated('lost', event.eventId, `committed for aggregate ${event.aggregateId}, never published`);
    else if (n > 1) check.count('redelivered', n - 1);
  }
  check.count('published', [...arrivals.values()].filter((n) => n > 0).length);
  for (const [aggregateId, order] of byAggregate) {
    const arrived = (firstArrivals.get(aggregateId) ?? []).filter((id) => committedIds.has(id));
    const expected = order.filter((id) => arrivals.has(id));
    const at = arrived.findIndex((id, i) => id !== expected[i]);
    if (at >= 0) {
      check.violated(
        'out of order',
        aggregateId,
        `event ${arrived[at]} arrived first where ${expected[at]} was committed first (commit order ${expected.join(', ')}; arrivals ${arrived.join(', ')})`,
      );
    }
  }
  return check.report();
}
