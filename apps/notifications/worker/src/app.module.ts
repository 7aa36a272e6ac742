import { SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { createNotificationWorkerMetrics } from '@qls/notification-delivery';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { PostgresModule } from '@qls/postgres';
import { RedisModule } from '@qls/redis';
import { SqsModule } from '@qls/sqs';
import type { Config } from './config';
import { notificationWorker } from './notification-worker';

/**
 * The notification worker: consumes the notifications queue once the app is
 * up; on SIGTERM stops receiving and finishes in-flight sends, then the
 * connections close. `/health/*` and `/metrics` on HTTP_PORT.
 */
export const AppModule = serviceModule(({ config, logger }: ServiceContext<Config>, registry) => ({
  imports: [
    PostgresModule.forRoot({ config, logger }),
    RedisModule.forRoot({ config, logger, options: { maxRetriesPerRequest: 2, enableAutoPipelining: true } }),
    SqsModule.forRoot({ config, readinessQueue: config.NOTIFICATIONS_QUEUE }),
    BackgroundModule.run({
      inject: [Pool, Redis, SQSClient],
      useFactory: (pool, redis, sqs) =>
        notificationWorker(config, { pool, redis, sqs, metrics: createNotificationWorkerMetrics(registry), logger }),
    }),
  ],
}));
