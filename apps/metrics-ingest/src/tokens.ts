export const INGESTOR = Symbol('INGESTOR');
export const INGEST_METRICS = Symbol('INGEST_METRICS');
export const LOGGER = Symbol('LOGGER');
