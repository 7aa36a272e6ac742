import type { RedisOptions } from 'ioredis';
import { type Caller, FeedRateLimitedError, createFeedApiMetrics } from '@qls/feed-service';
import { apiProviders, createJwtVerifier, jwtSettings, openApiController, userRateLimitOn } from '@qls/http-api';
import { type ServiceContext, serviceModule } from '@qls/observability';
import { type GivenPool, PostgresModule } from '@qls/postgres';
import { RedisModule, redisToken } from '@qls/redis';
import { countFailedRequest } from './api.metrics';
import type { Config } from './config';
import { FeedHttpController } from './feed.http-controller';
import { FEED_CACHE, feedReaderModule, pageLimits } from './feed-reader';
import { statusByCode } from './http-errors';
import { openApi } from './openapi';
import { PostsHttpController } from './posts.http-controller';
import { API_LIMITS, API_METRICS, OUTBOX_OPTIONS } from './tokens';
import { UsersHttpController } from './users.http-controller';

export type AppModuleOptions = ServiceContext<Config> &
  GivenPool & {
    /** Prefix of every Redis key (tests: their own). @defaultValue none */
    readonly redisKeyPrefix?: string;
  };

/** The feed API: users and follows, posts (each with its outbox row), and the caller's home feed from the cache. */
export const AppModule = serviceModule(({ config, service, logger, pool, redisKeyPrefix }: AppModuleOptions, registry) => {
  const limits = pageLimits(config);
  const metrics = createFeedApiMetrics(registry);
  const redis = (commandTimeout: number): RedisOptions => ({
    maxRetriesPerRequest: 1,
    commandTimeout,
    ...(redisKeyPrefix ? { keyPrefix: redisKeyPrefix } : {}),
  });
  return {
    imports: [
      PostgresModule.forRoot({ config, logger, pool, schema: { name: 'feed-schema', tables: ['feed_users', 'posts'] } }),
      // No readiness check for Redis on purpose: posting and following work without it (GET /feed then fails alone).
      // The limiter's client has a short timeout: it fails open rather than holding requests while Redis is away.
      RedisModule.forRoot({ config, logger, name: 'rate-limiter', readiness: false, options: redis(250) }),
      RedisModule.forRoot({ config, logger, name: FEED_CACHE, readiness: false, options: redis(2_000) }),
      feedReaderModule(config, { limits, metrics, logger }),
    ],
    controllers: [UsersHttpController, PostsHttpController, FeedHttpController, openApiController(openApi)],
    providers: [
      { provide: API_METRICS, useValue: metrics },
      { provide: API_LIMITS, useValue: limits },
      { provide: OUTBOX_OPTIONS, useValue: { postsTopic: config.POSTS_TOPIC } },
      ...apiProviders<Caller>({
        // The caller is the user named by the token's subject.
        verify: createJwtVerifier(jwtSettings(config), (subject) => ({ userId: subject })),
        errors: { logger, statusByCode, onError: (request) => countFailedRequest(metrics, request) },
        rateLimit: userRateLimitOn(redisToken('rate-limiter'), {
          config,
          service,
          refused: (retryAfterSeconds) => new FeedRateLimitedError(retryAfterSeconds),
          errors: metrics.rateLimiterErrors,
          logger,
        }),
      }),
    ],
  };
});
