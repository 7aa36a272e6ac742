export * from './lib/metric-point';
export * from './lib/alert';
