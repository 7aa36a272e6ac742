import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { type Logger, ReadinessChecks, postgresReadiness } from '@qls/observability';

export interface PostgresModuleOptions {
  /** `postgresEnv` of libs/platform/config. */
  readonly config: { readonly DATABASE_URL: string; readonly DATABASE_POOL_SIZE: number };
  readonly logger: Logger;
  /** A statement running longer fails (and is retried by its caller) rather than holding a connection. @defaultValue none */
  readonly statementTimeoutMs?: number;
  /** Tables provisioning makes: readiness checks them under `name` (e.g. `outbox-schema`). @defaultValue none */
  readonly schema?: { readonly name: string; readonly tables: readonly string[] };
  /** See {@link GivenPool}. */
  readonly pool?: Pool | undefined;
}

/** What an app's options add when its tests may hand it their own pool: `type AppModuleOptions = ServiceContext<Config> & GivenPool`. */
export interface GivenPool {
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool | undefined;
}

const OPTIONS = Symbol('POSTGRES_OPTIONS');

/** Ends the pool the module made when the app shuts down: after the HTTP server and the background tasks have stopped. */
@Injectable()
class PoolCloser implements OnApplicationShutdown {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(OPTIONS) private readonly options: PostgresModuleOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.options.pool === undefined) await this.pool.end();
  }
}

function createPool({ config, logger, statementTimeoutMs, pool }: PostgresModuleOptions): Pool {
  if (pool) return pool;
  const created = new Pool({
    connectionString:
      statementTimeoutMs === undefined
        ? config.DATABASE_URL
        : withOption(config.DATABASE_URL, `-c statement_timeout=${statementTimeoutMs}`),
    max: config.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: 2_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  created.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
  return created;
}

/** Adds a server option to the URL's own (pg lets `options` in the URL override those in the pool's settings). */
function withOption(databaseUrl: string, option: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('options', [url.searchParams.get('options'), option].filter(Boolean).join(' '));
  return url.toString();
}

/**
 * The app's one Postgres pool, injected by class (`@Inject(Pool)`), with its
 * readiness checks (`postgres`: `SELECT 1`; the schema's tables when named)
 * and ended at application shutdown — global modules are torn down last, so
 * after the HTTP server has closed and the background tasks have stopped.
 */
@Module({})
export class PostgresModule {
  static forRoot(options: PostgresModuleOptions): DynamicModule {
    return {
      module: PostgresModule,
      global: true,
      providers: [
        { provide: OPTIONS, useValue: options },
        {
          provide: Pool,
          inject: [ReadinessChecks],
          useFactory: (readiness: ReadinessChecks) => {
            const pool = createPool(options);
            readiness.add(postgresReadiness(pool));
            const schema = options.schema;
            if (schema) readiness.add({ name: schema.name, check: () => pool.query(`SELECT 1 FROM ${schema.tables.join(', ')} LIMIT 1`) });
            return pool;
          },
        },
        PoolCloser,
      ],
      exports: [Pool],
    };
  }
}
