import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { FeedCache, FeedRebuilder, FollowGraph, rankings } from '@qls/feed';
import {
  type Caller,
  type FeedApiLimits,
  type FeedOutboxOptions,
  FeedRateLimitedError,
  FeedReader,
  createFeedApiMetrics,
  feedApiLimits,
} from '@qls/feed-api';
import { apiProviders, createJwtVerifier, jwtSettings, openApiController, userRateLimit } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { countFailedRequest } from './api.metrics';
import type { Config } from './config';
import { FeedHttpController } from './feed.http-controller';
import { statusByCode } from './http-errors';
import { openApi } from './openapi';
import { PostsHttpController } from './posts.http-controller';
import { API_LIMITS, API_METRICS, FEED_READER, OUTBOX_OPTIONS, PG_POOL } from './tokens';
import { UsersHttpController } from './users.http-controller';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
  /** Prefix of every Redis key (tests: their own). @defaultValue none */
  readonly redisKeyPrefix?: string;
}

const CLOSERS = Symbol('CLOSERS');

/** Lets running feed rebuilds finish, then closes the clients after the HTTP server has stopped taking requests. */
@Injectable()
class ClientsLifecycle implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(FEED_READER) private readonly reader: FeedReader,
    @Inject(CLOSERS) private readonly closers: readonly (() => Promise<unknown>)[],
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.reader.idle();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.closers.map((close) => close()));
  }
}

function redisClient(
  url: string,
  logger: Logger,
  name: string,
  options: { commandTimeout: number; keyPrefix?: string | undefined },
): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeout,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
  });
  redis.on('error', (error) => logger.warn({ err: error, client: name }, 'Redis connection failed'));
  return redis;
}

@Module({})
export class AppModule {
  static register({ config, service, logger, pool: givenPool, redisKeyPrefix }: AppModuleOptions): DynamicModule {
    if (config.FEED_PAGE_SIZE > config.FEED_MAX_PAGE_SIZE) {
      throw new RangeError(`FEED_PAGE_SIZE (${config.FEED_PAGE_SIZE}) must not exceed FEED_MAX_PAGE_SIZE (${config.FEED_MAX_PAGE_SIZE})`);
    }
    const pool =
      givenPool ?? new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    // The limiter's client has a short timeout: it fails open rather than holding requests while Redis is away.
    const limiterRedis = redisClient(config.REDIS_URL, logger, 'rate-limiter', { commandTimeout: 250, keyPrefix: redisKeyPrefix });
    const feedRedis = redisClient(config.REDIS_URL, logger, 'feed-cache', { commandTimeout: 2_000, keyPrefix: redisKeyPrefix });
    const registry = new MetricsRegistry({ service });
    const metrics = createFeedApiMetrics(registry);
    const limits: FeedApiLimits = { ...feedApiLimits, defaultPageSize: config.FEED_PAGE_SIZE, maxPageSize: config.FEED_MAX_PAGE_SIZE };
    const outbox: FeedOutboxOptions = { postsTopic: config.POSTS_TOPIC };
    const cache = new FeedCache(feedRedis, { feedLength: config.FEED_LENGTH, recentLength: config.FEED_RECENT_LENGTH });
    const reader = new FeedReader(
      {
        pool,
        cache,
        graph: new FollowGraph(pool),
        rebuilder: new FeedRebuilder(pool, cache, {
          celebrityThreshold: config.FEED_CELEBRITY_THRESHOLD,
          ranking: rankings[config.FEED_RANKING],
        }),
        metrics,
        logger,
      },
      {
        celebrityThreshold: config.FEED_CELEBRITY_THRESHOLD,
        activeDays: config.FEED_ACTIVE_DAYS,
        touchIntervalSeconds: config.FEED_ACTIVITY_TOUCH_SECONDS,
        regeneratingTtlSeconds: config.FEED_REGENERATING_TTL_SECONDS,
        inlineRebuildBudgetMs: config.FEED_INLINE_REBUILD_BUDGET_MS,
        limits,
      },
    );
    const quit = (redis: Redis) => () => redis.quit().catch(() => redis.disconnect());
    const closers = [quit(limiterRedis), quit(feedRedis), async () => (givenPool === undefined ? pool.end() : undefined)];
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          // Redis is left out on purpose: posting and following work without it (GET /feed then fails alone).
          readiness: [postgresReadiness(pool), { name: 'feed-schema', check: () => pool.query('SELECT 1 FROM feed_users, posts LIMIT 1') }],
        }),
      ],
      controllers: [UsersHttpController, PostsHttpController, FeedHttpController, openApiController(openApi)],
      providers: [
        { provide: PG_POOL, useValue: pool },
        { provide: API_METRICS, useValue: metrics },
        { provide: API_LIMITS, useValue: limits },
        { provide: OUTBOX_OPTIONS, useValue: outbox },
        { provide: FEED_READER, useValue: reader },
        { provide: CLOSERS, useValue: closers },
        ...apiProviders<Caller>({
          // The caller is the user named by the token's subject.
          verify: createJwtVerifier(jwtSettings(config), (subject) => ({ userId: subject })),
          errors: { logger, statusByCode, onError: (request) => countFailedRequest(metrics, request) },
          rateLimit: userRateLimit({
            redis: limiterRedis,
            service,
            settings: { ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
            refused: (retryAfterSeconds) => new FeedRateLimitedError(retryAfterSeconds),
            errors: metrics.rateLimiterErrors,
            logger,
          }),
        }),
        ClientsLifecycle,
      ],
    };
  }
}
