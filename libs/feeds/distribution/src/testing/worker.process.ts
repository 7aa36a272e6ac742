/**
 * A fan-out worker in a process of its own, so a test can SIGKILL it in the
 * middle of a task. argv[2] is JSON: { redisUrl, databaseUrl, schema,
 * sqsEndpoint, region, queueUrl, dlqUrl, visibilityTimeoutSeconds, stall }.
 * With `stall`, the first feed write of a task writes half of the chunk,
 * prints `half <postId>` and never finishes: the process is mid-task.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { FeedCache, type FeedEntry, FollowGraph } from '@qls/feed-timeline';
import { createSqsClient } from '@qls/sqs';
import { FanOutWorker } from '../lib/fan-out.worker';
import { FanOutProgress } from '../lib/fan-out-progress';
import { FanOutTaskApplier } from '../lib/task-applier';

const args = JSON.parse(process.argv[2] ?? '{}') as Record<string, string> & { visibilityTimeoutSeconds: number; stall: boolean };

class StallingCache extends FeedCache {
  override async addToFeeds(userIds: readonly string[], entry: FeedEntry): Promise<void> {
    if (!args.stall) return super.addToFeeds(userIds, entry);
    await super.addToFeeds(userIds.slice(0, Math.ceil(userIds.length / 2)), entry);
    process.stdout.write(`half ${entry.postId}\n`);
    await new Promise(() => undefined);
  }
}

const redis = new Redis(args.redisUrl as string);
const pool = new Pool({ connectionString: args.databaseUrl, max: 2, options: `-c search_path=${args.schema}` });
const worker = new FanOutWorker({
  sqs: createSqsClient({ endpoint: args.sqsEndpoint, region: args.region as string }),
  queueUrl: args.queueUrl as string,
  deadLetterQueueUrl: args.dlqUrl as string,
  applier: new FanOutTaskApplier({ graph: new FollowGraph(pool), cache: new StallingCache(redis), progress: new FanOutProgress(redis) }),
  concurrency: 1,
  waitTimeSeconds: 1,
  visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
});
void worker.start().then(() => process.stdout.write('started\n'));
