export const PG_POOL = Symbol('PG_POOL');
export const OUTBOX_OPTIONS = Symbol('OUTBOX_OPTIONS');
export const FEED_READER = Symbol('FEED_READER');
export const API_METRICS = Symbol('API_METRICS');
export const API_LIMITS = Symbol('API_LIMITS');
