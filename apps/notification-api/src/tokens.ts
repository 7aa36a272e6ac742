export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');
export const INTAKE = Symbol('INTAKE');
export const API_METRICS = Symbol('API_METRICS');
