export const INTAKE = Symbol('INTAKE');
export const API_METRICS = Symbol('API_METRICS');
