import type Redis from 'ioredis';
import { RedisScript } from '@qls/redis';

/**
 * Tells which applied task was the last of a post's fan-out, exactly once,
 * so the fan-out lag is measured to the LAST follower's feed even though
 * competing workers apply tasks in any order and SQS redelivers some:
 * each applied task adds its index to a set (a redelivered task adds
 * nothing), the planner records the task count once every task is sent, and
 * whichever of the two completes the set first reports it. Keys expire.
 */
export class FanOutProgress {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 86_400,
  ) {}

  /** A task was applied; true when it completed the post's fan-out. */
  async taskDone(postId: string, action: string, taskIndex: number): Promise<boolean> {
    return (await TASK_DONE.run(this.redis, keysOf(postId, action), [taskIndex, this.ttlSeconds])) === 1;
  }

  /** Every task is sent; true when all were already applied (the planner completes it). */
  async planned(postId: string, action: string, taskCount: number): Promise<boolean> {
    return (await PLANNED.run(this.redis, keysOf(postId, action), [taskCount, this.ttlSeconds])) === 1;
  }

  /** Tasks applied so far and the task count (null until planned): for tests and benchmarks. */
  async status(postId: string, action: string): Promise<{ done: number; total: number | null }> {
    const [done, total] = keysOf(postId, action);
    const [count, planned] = await Promise.all([this.redis.scard(done), this.redis.get(total)]);
    return { done: count, total: planned === null ? null : Number(planned) };
  }
}

function keysOf(postId: string, action: string): [done: string, total: string] {
  return [`fanout-done:{${postId}}:${action}`, `fanout-total:{${postId}}:${action}`];
}

const TASK_DONE = new RedisScript(`
local new = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if new == 0 then return 0 end
local total = redis.call('GET', KEYS[2])
if total and redis.call('SCARD', KEYS[1]) == tonumber(total) then return 1 end
return 0
`);

const PLANNED = new RedisScript(`
local before = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
if before then return 0 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 1 end
return 0
`);
