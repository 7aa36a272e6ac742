export const PG_POOL = Symbol('PG_POOL');
export const OUTBOX_RELAY = Symbol('OUTBOX_RELAY');
