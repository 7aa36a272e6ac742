import { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import {
  MetricPointsStore,
  MetricsStorageConsumer,
  PartitionMaintenance,
  createStorageMetrics,
  partitionSettings,
  seriesQueryDefaults,
  storageConsumerSettings,
} from '@qls/metrics-point-store';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { PostgresModule } from '@qls/postgres';
import type { Config } from './config';
import { SeriesHttpController } from './series.http-controller';
import { SERIES_LIMITS } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions extends ServiceContext<Config> {
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
}

/**
 * At boot the coming days' partitions of metric_points are made (hourly from
 * then on, and those past the retention dropped), then the storage joins its
 * group. On shutdown it leaves the group first (the batch being written
 * finishes and is committed), the clients close after the HTTP server.
 */
export const AppModule = serviceModule(({ config, service, logger, pool }: AppModuleOptions, registry) => {
  const metrics = createStorageMetrics(registry);
  return {
    imports: [
      PostgresModule.forRoot({
        config,
        logger,
        pool,
        // A write stuck longer than this fails and is retried, rather than outliving the group session.
        statementTimeoutMs: config.STORAGE_WRITE_TIMEOUT_MS,
        schema: { name: 'metric-points-schema', tables: ['metric_points'] },
      }),
      KafkaModule.forRoot({ config, service, logger, readinessTopics: [config.METRICS_RAW_TOPIC, config.STORAGE_DEAD_LETTER_TOPIC] }),
      BackgroundModule.run({
        providers: [{ provide: MetricPointsStore, inject: [Pool], useFactory: (db: Pool) => new MetricPointsStore(db) }],
        inject: [MetricPointsStore, Kafka, KafkaPublisher],
        useFactory: (store, kafka, deadLetterPublisher) => [
          new PartitionMaintenance({ ...partitionSettings(config), store, logger }),
          new MetricsStorageConsumer({ ...storageConsumerSettings(config), kafka, deadLetterPublisher, store, metrics, logger }),
        ],
      }),
    ],
    controllers: [SeriesHttpController, openApiController(openApi)],
    providers: [
      { provide: SERIES_LIMITS, useValue: { ...seriesQueryDefaults, maxPoints: config.SERIES_MAX_POINTS } },
      ...operatorProviders(config, logger),
      apiErrorFilter({ logger, statusByCode: {} }),
    ],
  };
});
