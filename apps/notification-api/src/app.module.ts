import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { apiProviders, createJwtVerifier, jwtSettings, openApiController, userRateLimit } from '@qls/http-api';
import { type Caller, NotificationIntake, NotificationRateLimitedError } from '@qls/notification-intake';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { countFailedRequest, createApiMetrics } from './api.metrics';
import type { Config } from './config';
import { statusByCode } from './http-errors';
import { NotificationsHttpController } from './notifications.http-controller';
import { openApi } from './openapi';
import { API_METRICS, INTAKE, PG_POOL, REDIS } from './tokens';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
}

const OWNS_POOL = Symbol('OWNS_POOL');

/** Closes the clients after the HTTP server has stopped taking requests. */
@Injectable()
class ClientsLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(OWNS_POOL) private readonly ownsPool: boolean,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.ownsPool ? this.pool.end() : undefined, this.redis.quit().catch(() => this.redis.disconnect())]);
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger, pool: givenPool }: AppModuleOptions): DynamicModule {
    const pool =
      givenPool ?? new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    // Short timeouts: the rate limiter fails open rather than holding requests while Redis is away.
    // Auto-pipelining: the rate-limit calls of concurrent requests go out in one write.
    const redis = new Redis(config.REDIS_URL, { commandTimeout: 250, maxRetriesPerRequest: 1, enableAutoPipelining: true });
    redis.on('error', (error) => logger.warn({ err: error }, 'Redis connection failed'));
    const registry = new MetricsRegistry({ service });
    const metrics = createApiMetrics(registry);
    // Concurrent creates share one transaction (group commit), on at most 2 of the pool's connections.
    const intake = new NotificationIntake(pool, {
      queue: config.NOTIFICATIONS_QUEUE,
      onBatch: (size) => metrics.createBatchSize.observe(size),
    });
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          // Redis is left out on purpose: without it the API still works (no rate limit).
          readiness: [
            postgresReadiness(pool),
            { name: 'notifications-schema', check: () => pool.query('SELECT 1 FROM notifications LIMIT 1') },
          ],
        }),
      ],
      controllers: [NotificationsHttpController, openApiController(openApi)],
      providers: [
        { provide: PG_POOL, useValue: pool },
        { provide: OWNS_POOL, useValue: givenPool === undefined },
        { provide: REDIS, useValue: redis },
        { provide: API_METRICS, useValue: metrics },
        { provide: INTAKE, useValue: intake },
        ...apiProviders<Caller>({
          // The caller is the user named by the token's subject.
          verify: createJwtVerifier(jwtSettings(config), (subject) => ({ userId: subject })),
          errors: { logger, statusByCode, onError: (request) => countFailedRequest(metrics, request) },
          rateLimit: userRateLimit({
            redis,
            service,
            settings: { ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
            refused: (retryAfterSeconds) => new NotificationRateLimitedError(retryAfterSeconds),
            errors: metrics.rateLimiterErrors,
            logger,
          }),
        }),
        ClientsLifecycle,
      ],
    };
  }
}
