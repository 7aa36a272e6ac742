import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { apiProviders, createJwtVerifier, jwtSettings, openApiController, userRateLimitOn } from '@qls/http-api';
import { type Caller, NotificationIntake, NotificationRateLimitedError } from '@qls/notification-intake';
import { type ServiceContext, serviceModule } from '@qls/observability';
import { type GivenPool, PostgresModule } from '@qls/postgres';
import { RedisModule } from '@qls/redis';
import { countFailedRequest, createApiMetrics } from './api.metrics';
import type { Config } from './config';
import { statusByCode } from './http-errors';
import { NotificationsHttpController } from './notifications.http-controller';
import { openApi } from './openapi';
import { API_METRICS, INTAKE } from './tokens';

export type AppModuleOptions = ServiceContext<Config> & GivenPool;

/** The notification API: `POST /notifications` writes the notification and its outbox row in one transaction. */
export const AppModule = serviceModule(({ config, service, logger, pool }: AppModuleOptions, registry) => {
  const metrics = createApiMetrics(registry);
  return {
    imports: [
      PostgresModule.forRoot({ config, logger, pool, schema: { name: 'notifications-schema', tables: ['notifications'] } }),
      // The rate limiter fails open: short timeouts, no readiness check (without Redis the API works, unlimited); concurrent calls pipelined.
      RedisModule.forRoot({
        config,
        logger,
        readiness: false,
        options: { commandTimeout: 250, maxRetriesPerRequest: 1, enableAutoPipelining: true },
      }),
    ],
    controllers: [NotificationsHttpController, openApiController(openApi)],
    providers: [
      { provide: API_METRICS, useValue: metrics },
      {
        provide: INTAKE,
        inject: [Pool],
        // Concurrent creates share one transaction (group commit), on at most 2 of the pool's connections.
        useFactory: (pool: Pool) =>
          new NotificationIntake(pool, { queue: config.NOTIFICATIONS_QUEUE, onBatch: (size) => metrics.createBatchSize.observe(size) }),
      },
      ...apiProviders<Caller>({
        // The caller is the user named by the token's subject.
        verify: createJwtVerifier(jwtSettings(config), (subject) => ({ userId: subject })),
        errors: { logger, statusByCode, onError: (request) => countFailedRequest(metrics, request) },
        rateLimit: userRateLimitOn(Redis, {
          config,
          service,
          refused: (retryAfterSeconds) => new NotificationRateLimitedError(retryAfterSeconds),
          errors: metrics.rateLimiterErrors,
          logger,
        }),
      }),
    ],
  };
});
