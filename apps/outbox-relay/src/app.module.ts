import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Pool } from 'pg';
import { kafkaSettings } from '@qls/config';
import { KafkaPublisher, createKafka } from '@qls/kafka';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import { OutboxRelay, createOutboxMetrics, relaySettings } from '@qls/outbox';
import { SqsPublisher, createSqsClient, queueUrlResolver } from '@qls/sqs';
import type { Config } from './config';
import { OutboxHttpController } from './outbox.http-controller';
import { OUTBOX_RELAY, PG_POOL } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
}

/**
 * Starts the relay once the app is up; on shutdown stops it first (in-flight
 * batches finish and are marked), then closes the pool after the HTTP server.
 */
@Injectable()
class RelayLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.relay.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.relay.stop();
  }

  onApplicationShutdown(): Promise<void> {
    return this.pool.end();
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const registry = new MetricsRegistry({ service });
    const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
    const relay = new OutboxRelay({
      ...relaySettings(config),
      pool,
      publishers: {
        kafka: new KafkaPublisher(createKafka(kafkaSettings(config, service), logger), { logger }),
        sqs: new SqsPublisher(sqs),
      },
      sqsQueueUrl: queueUrlResolver(sqs),
      metrics: createOutboxMetrics(registry),
      logger,
    });
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          readiness: [
            postgresReadiness(pool),
            // Provisioning has run: the relay has a table to read.
            { name: 'outbox-schema', check: () => pool.query('SELECT 1 FROM outbox_buckets LIMIT 1') },
          ],
        }),
      ],
      controllers: [OutboxHttpController, openApiController(openApi)],
      providers: [
        { provide: PG_POOL, useValue: pool },
        { provide: OUTBOX_RELAY, useValue: relay },
        RelayLifecycle,
        ...operatorProviders(config, logger),
        apiErrorFilter({ logger, statusByCode: {} }),
      ],
    };
  }
}
