import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script called by its SHA1 (EVALSHA): the source crosses the wire only
 * the first time a server lacks it (NOSCRIPT → SCRIPT LOAD → EVALSHA again),
 * e.g. after a restart, a failover or SCRIPT FLUSH.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      await redis.script('LOAD', this.lua);
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    }
  }
}
