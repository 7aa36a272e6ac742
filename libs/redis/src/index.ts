export { RedisScript } from './lib/redis-script';
