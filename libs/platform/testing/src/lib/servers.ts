import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { type Admin, Kafka, type Message, logLevel } from 'kafkajs';
import { Pool, type PoolClient } from 'pg';
import { kafkaEnv, loadConfig, postgresEnv, redisEnv, sqsEnv, z } from '@qls/config';
import { uniqueName, waitFor } from './wait-for';

const testEnv = z.object({ ...kafkaEnv, ...sqsEnv, ...postgresEnv, ...redisEnv });
export type TestEnv = z.infer<typeof testEnv>;

/**
 * Connection settings of the local servers (`./dev up`), from the same
 * variables the apps read. jest loads infra/env/local.env for unset ones.
 */
export function testServers(): TestEnv {
  return loadConfig(testEnv);
}

/**
 * Every resource a test creates is unique to it and removed by `cleanup()`,
 * so tests run in parallel and repeatedly against the same servers.
 */
export class TestResources {
  readonly env = testServers();
  // Plain clients, not the adapters: the adapters' own tests use this library.
  readonly kafka = new Kafka({ clientId: uniqueName('test'), brokers: this.env.KAFKA_BROKERS, logLevel: logLevel.ERROR });
  readonly sqs = new SQSClient({ region: this.env.AWS_REGION, ...(this.env.SQS_ENDPOINT ? { endpoint: this.env.SQS_ENDPOINT } : {}) });
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  /** A topic of its own, `partitions` wide. */
  async topic(prefix: string, partitions = 1, config: Record<string, string> = {}): Promise<string> {
    const topic = uniqueName(prefix);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: 1,
            configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      // Not kafkajs's waitForLeaders: it retries LEADER_NOT_AVAILABLE only, and a loaded broker may
      // still answer UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created.
      await waitFor(
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
          const found = metadata?.topics[0]?.partitions ?? [];
          return found.length === partitions && found.every((partition) => partition.leader >= 0);
        },
        { timeoutMs: 30_000, intervalMs: 100, description: `leaders for the ${partitions} partitions of ${topic}` },
      );
    } finally {
      await admin.disconnect();
    }
    this.onCleanup(async () => {
      const cleanupAdmin = this.kafka.admin();
      await cleanupAdmin.connect();
      await cleanupAdmin.deleteTopics({ topics: [topic] }).finally(() => cleanupAdmin.disconnect());
    });
    return topic;
  }

  /** A queue of its own; with `maxReceiveCount`, also its DLQ and RedrivePolicy. */
  async queue(
    prefix: string,
    options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number; fifo?: boolean } = {},
  ): Promise<{ url: string; dlqUrl: string | undefined }> {
    const suffix = options.fifo ? '.fifo' : '';
    const fifoAttributes: Record<string, string> = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
    const name = uniqueName(prefix);
    let dlqUrl: string | undefined;
    const attributes: Record<string, string> = { ...fifoAttributes, VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30) };
    if (options.maxReceiveCount !== undefined) {
      dlqUrl = await this.createQueue(`${name}-dlq${suffix}`, fifoAttributes);
      const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
      attributes['RedrivePolicy'] = JSON.stringify({
        deadLetterTargetArn: Attributes?.['QueueArn'],
        maxReceiveCount: options.maxReceiveCount,
      });
    }
    const url = await this.createQueue(`${name}${suffix}`, attributes);
    return { url, dlqUrl };
  }

  /**
   * A pool whose connections use a schema of their own (dropped on cleanup),
   * and `databaseUrl`, the test database with that schema on the search path
   * (for an app under test).
   */
  async postgres(): Promise<{ pool: Pool; schema: string; databaseUrl: string }> {
    assertTestDatabase(this.env.DATABASE_URL);
    const schema = uniqueName('test').replaceAll('-', '_');
    const admin = new Pool({ connectionString: this.env.DATABASE_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const pool = new Pool({ connectionString: this.env.DATABASE_URL, max: 10, options: `-c search_path=${schema}` });
    this.onCleanup(async () => {
      await pool.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    });
    const databaseUrl = new URL(this.env.DATABASE_URL);
    databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
    return { pool, schema, databaseUrl: databaseUrl.toString() };
  }

  /** A connected Kafka admin client, disconnected on cleanup. */
  async kafkaAdmin(): Promise<Admin> {
    const admin = this.kafka.admin();
    await admin.connect();
    this.onCleanup(() => admin.disconnect());
    return admin;
  }

  /** A member of `groupId` reads everything on `topic` now, commits it and leaves: a consumer that then stopped. */
  async catchUpGroup(groupId: string, topic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]).finally(() => admin.disconnect());
    const from = (partition: number, low: string) => {
      const offset = Number(committed?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
      return offset >= 0 ? offset : Number(low);
    };
    const total = ends.reduce((sum, p) => sum + Number(p.high) - from(p.partition, p.low), 0);
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      await consumer.run({ eachMessage: async () => void seen++ });
      await waitFor(() => seen === total, { timeoutMs: 20_000, description: `${groupId} to read ${total} records` });
    } finally {
      await consumer.disconnect(); // commits what it read
    }
  }

  /** Produces `messages` to `topic` (acks from all replicas) with a producer of its own. */
  async produce(topic: string, messages: Message[]): Promise<void> {
    const producer = this.kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
  }

  /** A Redis connection; tests prefix their keys with {@link uniqueName}. */
  redis(): Redis {
    const redis = new Redis(this.env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
    this.onCleanup(() => redis.quit());
    return redis;
  }

  onCleanup(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  /** Runs cleanups newest first; reports every failure, not just the first. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    this.sqs.destroy();
    if (failures.length) throw new AggregateError(failures, 'test cleanup failed');
  }

  /** Checks out one client (released on cleanup), for tests that hold a transaction open. */
  async client(pool: Pool): Promise<PoolClient> {
    const client = await pool.connect();
    this.onCleanup(async () => client.release());
    return client;
  }

  private async createQueue(name: string, attributes: Record<string, string>): Promise<string> {
    const { QueueUrl } = await this.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    this.onCleanup(() => this.sqs.send(new DeleteQueueCommand({ QueueUrl })));
    // A loaded ElasticMQ has answered a send right after CreateQueue with QueueDoesNotExist (seen in CI):
    // the queue is returned once the server can find it.
    await waitFor(
      () =>
        this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, intervalMs: 100, description: `queue ${name} to be found after CreateQueue` },
    );
    return QueueUrl;
  }
}

/** Destructive tests run only against a database on this machine. */
export function assertTestDatabase(databaseUrl: string): void {
  const host = new URL(databaseUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(`refusing to run tests against ${host}: DATABASE_URL must point at a local test database`);
  }
}
