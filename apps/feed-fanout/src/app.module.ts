import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { kafkaSettings } from '@qls/config';
import { FeedCache, FollowGraph, rankings } from '@qls/feed';
import { FanOutConsumer, FanOutPlanner, FanOutProgress, FanOutTaskApplier, FeedFanOut, createFanOutMetrics } from '@qls/feed-fanout';
import { KafkaPublisher, createKafka, kafkaTopicsReadiness } from '@qls/kafka';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { SqsPublisher, createSqsClient, queueUrlOf } from '@qls/sqs';
import type { Config } from './config';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
}

interface Parts {
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

const PARTS = Symbol('PARTS');

/** Joins the `fan-out` group once the app is up; on SIGTERM leaves it (the chunk in progress finishes or is redelivered), then closes clients. */
@Injectable()
class FanOutLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(@Inject(PARTS) private readonly parts: Parts) {}

  onApplicationBootstrap(): Promise<void> {
    return this.parts.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.parts.stop();
  }

  onApplicationShutdown(): Promise<void> {
    return this.parts.close();
  }
}

/**
 * The fan-out consumer (consumer group `fan-out` on `posts`): small authors'
 * posts written into their followers' feeds here, larger ones split into SQS
 * `fan-out-tasks` for feed-fanout-worker, celebrities' left to the read-time
 * merge. `/health/*` and `/metrics` on HTTP_PORT.
 */
@Module({})
export class AppModule {
  static register({ config, service, logger, pool: givenPool }: AppModuleOptions): DynamicModule {
    const pool =
      givenPool ?? new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
    redis.on('error', (error) => logger.warn({ err: error }, 'Redis connection failed'));
    const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const publisher = new KafkaPublisher(kafka, { logger });
    const registry = new MetricsRegistry({ service });
    const metrics = createFanOutMetrics(registry);
    const cache = new FeedCache(redis, {
      feedLength: config.FEED_LENGTH,
      recentLength: config.FEED_RECENT_LENGTH,
      chunkSize: config.FANOUT_TASK_SIZE,
    });
    const graph = new FollowGraph(pool);
    const progress = new FanOutProgress(redis);
    const applier = new FanOutTaskApplier({ graph, cache, progress, metrics });
    const kafkaReady = kafkaTopicsReadiness(kafka, [config.POSTS_TOPIC, config.FANOUT_DEAD_LETTER_TOPIC]);
    let consumer: FanOutConsumer | undefined;

    const parts: Parts = {
      async start() {
        const queueUrl = await queueUrlOf(sqs, config.FAN_OUT_TASKS_QUEUE);
        const planner = new FanOutPlanner({
          graph,
          publisher: new SqsPublisher(sqs),
          queueUrl,
          taskSize: config.FANOUT_TASK_SIZE,
          progress,
          metrics,
        });
        const fanOut = new FeedFanOut({
          graph,
          cache,
          planner,
          applier,
          pool,
          thresholds: { directBelow: config.FANOUT_DIRECT_BELOW, celebrityAt: config.FEED_CELEBRITY_THRESHOLD },
          ranking: rankings[config.FEED_RANKING],
          chunkSize: config.FANOUT_TASK_SIZE,
          ...(config.FANOUT_ACTIVE_HOURS > 0 ? { activePeriodMs: config.FANOUT_ACTIVE_HOURS * 3_600_000 } : {}),
          metrics,
        });
        consumer = new FanOutConsumer({
          kafka,
          groupId: config.FANOUT_GROUP_ID,
          topic: config.POSTS_TOPIC,
          deadLetterTopic: config.FANOUT_DEAD_LETTER_TOPIC,
          deadLetterPublisher: publisher,
          fanOut,
          metrics,
          logger,
          partitionsConsumedConcurrently: config.FANOUT_PARTITION_CONCURRENCY,
          keyConcurrency: config.FANOUT_KEY_CONCURRENCY,
          fromBeginning: config.FANOUT_FROM_BEGINNING,
        });
        await consumer.start();
        logger.info({ topic: config.POSTS_TOPIC, groupId: config.FANOUT_GROUP_ID, queueUrl }, 'fanning out posts');
      },
      async stop() {
        await consumer?.stop();
      },
      async close() {
        await publisher.close();
        await kafkaReady.close();
        redis.disconnect();
        sqs.destroy();
        if (givenPool === undefined) await pool.end();
      },
    };
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          readiness: [
            postgresReadiness(pool),
            { name: 'redis', check: () => redis.ping() },
            { name: 'sqs', check: () => queueUrlOf(sqs, config.FAN_OUT_TASKS_QUEUE) },
            kafkaReady,
          ],
        }),
      ],
      providers: [{ provide: PARTS, useValue: parts }, FanOutLifecycle],
    };
  }
}
