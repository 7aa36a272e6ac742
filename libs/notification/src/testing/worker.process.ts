/**
 * A notification worker in its own process, for the crash test:
 * `node --import tsx worker.process.ts <json>`; the test SIGKILLs it mid-batch.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { SqsConsumer } from '@qls/sqs';
import { LocalProvider, NotificationHandler, SendGuard, channels } from '../index';

interface Args {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly redisUrl: string;
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly latencyMs: number;
  readonly leaseMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pool = new Pool({ connectionString: args.databaseUrl, options: `-c search_path=${args.schema}`, max: 20 });
const providers = new Map(channels.map((channel) => [channel, new LocalProvider(channel, pool, { latencyMs: args.latencyMs })]));
const handler = new NotificationHandler(new SendGuard(pool, new Redis(args.redisUrl), { leaseMs: args.leaseMs }), providers);
const consumer = new SqsConsumer(new SQSClient({ endpoint: args.sqsEndpoint, region: args.region }), {
  queueUrl: args.queueUrl,
  deadLetterQueueUrl: args.dlqUrl,
  concurrency: 20,
  waitTimeSeconds: 1,
  visibilityTimeoutSeconds: 3,
});
void consumer.start(handler.handle);
