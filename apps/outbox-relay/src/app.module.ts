import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { HealthModule, LoggingModule, MetricsModule, MetricsRegistry, postgresReadiness, type Logger } from '@qls/observability';
import { Pool } from 'pg';

export interface AppModuleOptions {
  readonly config: { readonly DATABASE_URL: string; readonly DATABASE_POOL_SIZE: number };
  readonly service: string;
  readonly logger: Logger;
}

const PG_POOL = Symbol('PG_POOL');

/** Closes the pool once the HTTP server has stopped (Nest runs shutdown hooks after that). */
@Injectable()
class PgPoolCloser implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  onApplicationShutdown(): Promise<void> {
    return this.pool.end();
  }
}

/** Health-only skeleton: the outbox relay itself arrives with libs/outbox. */
@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    return {
      module: AppModule,
      imports: [
        LoggingModule.forRoot(logger),
        MetricsModule.forRoot(new MetricsRegistry({ service })),
        HealthModule.forRoot({ checks: [postgresReadiness(pool)] }),
      ],
      providers: [{ provide: PG_POOL, useValue: pool }, PgPoolCloser],
    };
  }
}
