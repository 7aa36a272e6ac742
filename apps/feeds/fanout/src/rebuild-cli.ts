/**
 * Rebuilds feed caches from the database — after a ranking change (chapter:
 * "might need to replay if ranking algorithm changes") or a lost Redis:
 *
 *   node dist/apps/feed-fanout/rebuild-cli.js --all [--active-days 30] [--ranking recency]
 *   node dist/apps/feed-fanout/rebuild-cli.js --user u1 --user u2
 *
 * Locally: ./dev npx tsx apps/feeds/fanout/src/rebuild-cli.ts --all
 * Reads DATABASE_URL, REDIS_URL, FEED_LENGTH, FEED_RECENT_LENGTH, FEED_CELEBRITY_THRESHOLD, FEED_RANKING.
 * Exit status: 0 done, 1 failed, 2 bad arguments.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { loadConfigOrExit, postgresEnv, redisEnv, z } from '@qls/config';
import { fanOutEnv } from '@qls/feed-distribution';
import { EXIT, runRebuildCommand } from './rebuild-command';

const env = loadConfigOrExit(
  z.object({
    ...postgresEnv,
    ...redisEnv,
    FEED_LENGTH: fanOutEnv.FEED_LENGTH,
    FEED_RECENT_LENGTH: fanOutEnv.FEED_RECENT_LENGTH,
    FEED_CELEBRITY_THRESHOLD: fanOutEnv.FEED_CELEBRITY_THRESHOLD,
    FEED_RANKING: fanOutEnv.FEED_RANKING,
  }),
);
const pool = new Pool({ connectionString: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE });
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 });

runRebuildCommand(process.argv.slice(2), {
  pool,
  redis,
  feedLength: env.FEED_LENGTH,
  recentLength: env.FEED_RECENT_LENGTH,
  celebrityThreshold: env.FEED_CELEBRITY_THRESHOLD,
  defaultRanking: env.FEED_RANKING,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  async (code) => {
    redis.disconnect();
    await pool.end();
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
