import { TestResources } from '@qls/testing';
import { RedisScript } from './index';

describe('RedisScript (real Redis)', () => {
  const resources = new TestResources();
  afterAll(() => resources.cleanup());

  it('runs by SHA1 and loads itself again when the server lost it (restart, failover, SCRIPT FLUSH)', async () => {
    const redis = resources.redis();
    const key = `redis-script-test:${Date.now()}`;
    const incrBy = new RedisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);
    expect(await incrBy.run(redis, [key], [2])).toBe(2);
    await redis.script('FLUSH');
    expect(await incrBy.run(redis, [key], [3])).toBe(5);
    expect(await redis.script('EXISTS', incrBy.sha)).toEqual([1]);
    await redis.del(key);
  });
});
