import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { FeedCache, FollowGraph } from '@qls/feed';
import { FanOutProgress, FanOutTaskApplier, FanOutWorker, createFanOutMetrics } from '@qls/feed-fanout';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { createSqsClient, queueUrlOf } from '@qls/sqs';
import { type Config, LONG_POLL_SECONDS } from './config';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
  /** Long poll of each receive. @defaultValue 20 (tests shorten it to stop quickly) */
  readonly waitTimeSeconds?: number;
}

interface Parts {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const PARTS = Symbol('PARTS');

/** Starts consuming once the app is up; on SIGTERM stops receiving, finishes the tasks in flight, then closes connections. */
@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(PARTS) private readonly parts: Parts) {}

  onApplicationBootstrap(): Promise<void> {
    return this.parts.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.parts.stop();
  }
}

/**
 * A fan-out worker: competing consumer of SQS `fan-out-tasks` (DLQ after 3
 * receives), each task one slice of ~1,000 followers written with one Redis
 * script call. Scales on queue depth. `/health/*` and `/metrics` on HTTP_PORT.
 */
@Module({})
export class AppModule {
  static register({ config, service, logger, pool: givenPool, waitTimeSeconds }: AppModuleOptions): DynamicModule {
    const pool =
      givenPool ?? new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
    redis.on('error', (error) => logger.warn({ err: error }, 'Redis connection failed'));
    const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
    const registry = new MetricsRegistry({ service });
    const metrics = createFanOutMetrics(registry);
    const queueVisible = registry.gauge({ name: 'feed_fanout_queue_visible', help: 'Fan-out tasks waiting in SQS (approximate)' });
    const queueInFlight = registry.gauge({
      name: 'feed_fanout_queue_in_flight',
      help: 'Fan-out tasks received and not yet deleted (approximate)',
    });
    const cache = new FeedCache(redis, {
      feedLength: config.FEED_LENGTH,
      recentLength: config.FEED_RECENT_LENGTH,
      chunkSize: config.FANOUT_TASK_SIZE,
    });
    const applier = new FanOutTaskApplier({ graph: new FollowGraph(pool), cache, progress: new FanOutProgress(redis), metrics });
    let worker: FanOutWorker | undefined;
    let depthTimer: NodeJS.Timeout | undefined;

    const parts: Parts = {
      async start() {
        const [queueUrl, deadLetterQueueUrl] = await Promise.all([
          queueUrlOf(sqs, config.FAN_OUT_TASKS_QUEUE),
          queueUrlOf(sqs, config.FAN_OUT_TASKS_DLQ),
        ]);
        worker = new FanOutWorker({
          sqs,
          queueUrl,
          deadLetterQueueUrl,
          applier,
          metrics,
          logger,
          concurrency: config.FANOUT_WORKER_CONCURRENCY,
          waitTimeSeconds: waitTimeSeconds ?? LONG_POLL_SECONDS,
          visibilityTimeoutSeconds: config.FANOUT_VISIBILITY_TIMEOUT_SECONDS,
          maxProcessingSeconds: config.FANOUT_MAX_PROCESSING_SECONDS,
        });
        await worker.start();
        const refreshDepth = async () => {
          const depth = await worker?.depth().catch(() => undefined);
          if (!depth) return;
          queueVisible.set(depth.visible);
          queueInFlight.set(depth.inFlight);
        };
        depthTimer = setInterval(() => void refreshDepth(), 5_000);
        await refreshDepth();
        logger.info({ queueUrl, concurrency: config.FANOUT_WORKER_CONCURRENCY }, 'applying fan-out tasks');
      },
      async stop() {
        clearInterval(depthTimer);
        await worker?.stop();
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
          ],
        }),
      ],
      providers: [{ provide: PARTS, useValue: parts }, WorkerLifecycle],
    };
  }
}
