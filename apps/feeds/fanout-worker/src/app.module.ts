import { SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { type GivenPool, PostgresModule } from '@qls/postgres';
import { RedisModule } from '@qls/redis';
import { SqsModule } from '@qls/sqs';
import type { Config } from './config';
import { fanOutTasks } from './fan-out-tasks';

export type AppModuleOptions = ServiceContext<Config> &
  GivenPool & {
    /** Long poll of each receive. @defaultValue 20 (tests shorten it to stop quickly) */
    readonly waitTimeSeconds?: number;
  };

/**
 * A fan-out worker: competing consumer of SQS `fan-out-tasks` (DLQ after 3
 * receives), each task one slice of ~1,000 followers written with one Redis
 * script call. Scales on queue depth. `/health/*` and `/metrics` on HTTP_PORT.
 */
export const AppModule = serviceModule(({ config, logger, pool, waitTimeSeconds }: AppModuleOptions, registry) => ({
  imports: [
    PostgresModule.forRoot({ config, logger, pool }),
    RedisModule.forRoot({ config, logger, options: { maxRetriesPerRequest: 2 } }),
    SqsModule.forRoot({ config, readinessQueue: config.FAN_OUT_TASKS_QUEUE }),
    BackgroundModule.run({
      inject: [Pool, Redis, SQSClient],
      useFactory: (db, redis, sqs) => fanOutTasks(config, { pool: db, redis, sqs, registry, logger, waitTimeSeconds }),
    }),
  ],
}));
