export * from './lib/events';
export * from './lib/fan-out-task';
export * from './lib/redis-keys';
