export { outboxRelayEnv, relaySettings } from './lib/outbox.config';
export { createOutboxMetrics } from './lib/outbox.metrics';
export type { OutboxMetrics } from './lib/outbox.metrics';
export { OutboxRelay } from './lib/outbox.relay';
export type { OutboxRelayOptions, RelayLogger } from './lib/outbox.relay';
export { deletePublished, listParked, retryParked, stats } from './lib/outbox.store';
export type { OutboxRow, OutboxStats, ParkedRow } from './lib/outbox.store';
export { OutboxHeaders, destinationToString, enqueue, inTransaction } from './lib/outbox.writer';
export type { Destination, EnqueuedEvent, OutboxEvent, Transaction } from './lib/outbox.writer';
