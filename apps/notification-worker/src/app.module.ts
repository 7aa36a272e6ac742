import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import {
  BreakerProvider,
  LocalProvider,
  NotificationHandler,
  NotificationReconciler,
  SendGuard,
  channels,
  createNotificationWorkerMetrics,
  type NotificationWorkerMetrics,
} from '@qls/notification';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { SqsConsumer, createSqsClient, queueDepth, queueUrlOf } from '@qls/sqs';
import { type Config, LONG_POLL_SECONDS } from './config';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
}

const WORKER = Symbol('WORKER');

interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts consuming once the app is up; on SIGTERM stops receiving, finishes in-flight sends, then closes connections. */
@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(WORKER) private readonly worker: Worker) {}

  onApplicationBootstrap(): Promise<void> {
    return this.worker.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.worker.stop();
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
    // ioredis reconnects by itself; without a listener its errors are printed as unhandled.
    redis.on('error', (error) => logger.warn({ err: error }, 'Redis connection failed'));
    const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
    const registry = new MetricsRegistry({ service });
    const metrics = createNotificationWorkerMetrics(registry);
    const worker = createWorker(config, { pool, redis, sqs, metrics, logger });
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          readiness: [
            postgresReadiness(pool),
            { name: 'redis', check: () => redis.ping() },
            { name: 'sqs', check: () => queueUrlOf(sqs, config.NOTIFICATIONS_QUEUE) },
          ],
        }),
      ],
      providers: [{ provide: WORKER, useValue: worker }, WorkerLifecycle],
    };
  }
}

function createWorker(
  config: Config,
  deps: { pool: Pool; redis: Redis; sqs: ReturnType<typeof createSqsClient>; metrics: NotificationWorkerMetrics; logger: Logger },
): Worker {
  const { pool, redis, sqs, metrics, logger } = deps;
  const circuitValue = { closed: 0, 'half-open': 1, open: 2 } as const;
  const providers = new Map(
    channels.map((channel) => {
      const provider = new BreakerProvider(new LocalProvider(channel, pool, config.LOCAL_PROVIDER_FAULTS[channel] ?? {}), {
        onStateChange: (name, state) => {
          metrics.circuitState.set({ channel: name }, circuitValue[state]);
          logger.warn({ channel: name, state }, 'provider circuit changed state');
        },
      });
      metrics.circuitState.set({ channel }, 0);
      return [channel, provider] as const;
    }),
  );
  const guard = new SendGuard(pool, redis, { leaseMs: config.WORKER_MAX_PROCESSING_SECONDS * 1000 });
  const handler = new NotificationHandler(guard, providers, { maxAttempts: config.NOTIFICATIONS_MAX_ATTEMPTS, metrics });
  let consumer: SqsConsumer | undefined;
  let reconciler: NotificationReconciler | undefined;
  let depthTimer: NodeJS.Timeout | undefined;
  return {
    async start() {
      const [queueUrl, deadLetterQueueUrl] = await Promise.all([
        queueUrlOf(sqs, config.NOTIFICATIONS_QUEUE),
        queueUrlOf(sqs, config.NOTIFICATIONS_DLQ),
      ]);
      consumer = new SqsConsumer(sqs, {
        queueUrl,
        deadLetterQueueUrl,
        concurrency: config.WORKER_CONCURRENCY,
        receivers: config.WORKER_RECEIVERS,
        waitTimeSeconds: LONG_POLL_SECONDS,
        visibilityTimeoutSeconds: config.WORKER_VISIBILITY_TIMEOUT_SECONDS,
        maxProcessingSeconds: config.WORKER_MAX_PROCESSING_SECONDS,
        maxReceiveCount: config.NOTIFICATIONS_MAX_RECEIVES,
        onDeadLettered: handler.deadLettered,
        logger,
      });
      reconciler = new NotificationReconciler(pool, sqs, { queueUrl, deadLetterQueueUrl, metrics, logger });
      const queue = config.NOTIFICATIONS_QUEUE;
      await consumer.start(async (message) => {
        metrics.messageAge.set({ queue }, Math.max(0, (Date.now() - message.timestamp) / 1000));
        await handler.handle(message);
      });
      const refreshDepth = async () => {
        const depth = await queueDepth(sqs, queueUrl).catch(() => undefined);
        if (!depth) return;
        metrics.queueVisible.set({ queue }, depth.visible);
        metrics.queueInFlight.set({ queue }, depth.inFlight);
      };
      reconciler.start();
      depthTimer = setInterval(() => void refreshDepth(), 5_000);
      await refreshDepth();
      logger.info({ queueUrl, concurrency: config.WORKER_CONCURRENCY }, 'consuming notifications');
    },
    async stop() {
      clearInterval(depthTimer);
      await reconciler?.stop();
      await consumer?.stop();
      for (const provider of providers.values()) provider.shutdown();
      redis.disconnect();
      sqs.destroy();
      await pool.end();
    },
  };
}
