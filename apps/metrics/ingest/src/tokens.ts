export const INGEST_METRICS = Symbol('INGEST_METRICS');
