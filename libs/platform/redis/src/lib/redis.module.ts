import { type DynamicModule, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, ReadinessChecks, type TypedToken, typedToken } from '@qls/observability';

export interface RedisModuleOptions {
  /** `redisEnv` of libs/platform/config. */
  readonly config: { readonly REDIS_URL: string };
  readonly logger: Logger;
  /**
   * For a second client with other settings (e.g. a short timeout for a rate
   * limiter): inject it with `redisToken(name)`. Without a name the client is
   * injected by class (`@Inject(Redis)`).
   */
  readonly name?: string;
  /** ioredis options: `maxRetriesPerRequest`, `commandTimeout`, `enableAutoPipelining`, `keyPrefix`, … */
  readonly options?: RedisOptions;
  /** Whether `/health/ready` waits for Redis (`PING`); leave it out when the app works without it. @defaultValue true */
  readonly readiness?: boolean;
}

const tokens = new Map<string, TypedToken<Redis>>();

/** The token of the client `RedisModule.forRoot({ name })` provides. */
export function redisToken(name: string): TypedToken<Redis> {
  let token = tokens.get(name);
  if (!token) {
    token = typedToken<Redis>(`Redis:${name}`);
    tokens.set(name, token);
  }
  return token;
}

/** Closes the client when the app shuts down, after the HTTP server and the background tasks (waits for pending replies if connected). */
@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * A Redis client (ioredis) for the app, with its connection-error listener
 * (ioredis reconnects by itself; without a listener its errors are printed as
 * unhandled), a `redis` readiness check and a close at application shutdown —
 * global modules are torn down last.
 */
@Module({})
export class RedisModule {
  static forRoot(options: RedisModuleOptions): DynamicModule {
    const { config, logger, name } = options;
    const token = name === undefined ? Redis : redisToken(name);
    return {
      module: RedisModule,
      global: true,
      providers: [
        {
          provide: token,
          inject: [ReadinessChecks],
          useFactory: (readiness: ReadinessChecks) => {
            const redis = new Redis(config.REDIS_URL, options.options ?? {});
            redis.on('error', (error) =>
              logger.warn({ err: error, ...(name === undefined ? {} : { client: name }) }, 'Redis connection failed'),
            );
            if (options.readiness ?? true)
              readiness.add({ name: name === undefined ? 'redis' : `redis:${name}`, check: () => redis.ping() });
            return redis;
          },
        },
        { provide: RedisCloser, inject: [token], useFactory: (redis: Redis) => new RedisCloser(redis) },
      ],
      exports: [token],
    };
  }
}
