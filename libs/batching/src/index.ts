export * from './lib/coalescer';
