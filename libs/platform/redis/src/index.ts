export { RedisScript } from './lib/redis-script';
export { RedisTokenBucket } from './lib/redis-token-bucket';
export type { RateLimitDecision, TokenBucketOptions } from './lib/redis-token-bucket';
export { RedisModule, redisToken } from './lib/redis.module';
export type { RedisModuleOptions } from './lib/redis.module';
