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
import { createKafka, KafkaPublisher, kafkaTopicsReadiness } from '@qls/kafka';
import {
  MetricPointsStore,
  MetricsStorageConsumer,
  type SeriesQueryLimits,
  createStorageMetrics,
  seriesQueryDefaults,
} from '@qls/metrics-storage';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import type { Config } from './config';
import { SeriesHttpController } from './series.http-controller';
import { SERIES_LIMITS, STORE } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
}

const DAY_MS = 86_400_000;
/** Day partitions are checked this often (they are made days ahead; a missed run costs nothing). */
const PARTITION_CHECK_MS = 3_600_000;

interface Parts {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: MetricPointsStore;
  readonly consumer: MetricsStorageConsumer;
  readonly closers: readonly (() => Promise<unknown>)[];
}

const PARTS = Symbol('PARTS');

/**
 * At boot and hourly: makes the coming days' partitions of metric_points (a
 * failure is logged, not fatal: points then land in the default partition)
 * and drops those past the retention. At boot it then joins the consumer group. On shutdown: leaves the group first — the batch being
 * written finishes and is committed — then closes Kafka and Postgres clients
 * after the HTTP server.
 */
@Injectable()
class StorageLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(PARTS) private readonly parts: Parts) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.maintainPartitions();
    this.timer = setInterval(() => void this.maintainPartitions(), PARTITION_CHECK_MS);
    await this.parts.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.parts.consumer.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const close of this.parts.closers) await close();
  }

  private async maintainPartitions(): Promise<void> {
    const { store, config, logger } = this.parts;
    const yesterday = new Date(Date.now() - DAY_MS);
    try {
      const created = await store.ensurePartitions(yesterday, config.STORAGE_PARTITION_DAYS_AHEAD + 2);
      if (created > 0) logger.info({ created }, 'metric_points day partitions created');
    } catch (error) {
      logger.error({ err: error }, 'could not create metric_points partitions; points go to the default partition meanwhile');
    }
    try {
      const dropped = await store.dropPartitionsBefore(new Date(Date.now() - config.STORAGE_RETENTION_DAYS * DAY_MS));
      if (dropped.length > 0)
        logger.info({ dropped, retentionDays: config.STORAGE_RETENTION_DAYS }, 'metric_points day partitions past retention dropped');
    } catch (error) {
      logger.error({ err: error }, 'could not drop metric_points partitions past retention; retrying within the hour');
    }
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger, pool: givenPool }: AppModuleOptions): DynamicModule {
    const pool =
      givenPool ??
      new Pool({
        connectionString: config.DATABASE_URL,
        max: config.DATABASE_POOL_SIZE,
        connectionTimeoutMillis: 2_000,
        // A write stuck longer than this fails and is retried, rather than outliving the group session.
        options: `-c statement_timeout=${config.STORAGE_WRITE_TIMEOUT_MS}`,
      });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const registry = new MetricsRegistry({ service });
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const publisher = new KafkaPublisher(kafka, { logger });
    const store = new MetricPointsStore(pool);
    const consumer = new MetricsStorageConsumer({
      kafka,
      groupId: config.STORAGE_GROUP_ID,
      topic: config.METRICS_RAW_TOPIC,
      deadLetterTopic: config.STORAGE_DEAD_LETTER_TOPIC,
      deadLetterPublisher: publisher,
      store,
      metrics: createStorageMetrics(registry),
      logger,
      maxBatchPoints: config.STORAGE_MAX_BATCH_POINTS,
      partitionsConsumedConcurrently: config.STORAGE_PARTITION_CONCURRENCY,
      retry: { initialMs: config.STORAGE_RETRY_INITIAL_MS, maxMs: config.STORAGE_RETRY_MAX_MS },
      fromBeginning: config.STORAGE_FROM_BEGINNING,
    });
    const kafkaReady = kafkaTopicsReadiness(kafka, [config.METRICS_RAW_TOPIC, config.STORAGE_DEAD_LETTER_TOPIC]);
    const limits: SeriesQueryLimits = { ...seriesQueryDefaults, maxPoints: config.SERIES_MAX_POINTS };
    const parts: Parts = {
      config,
      logger,
      store,
      consumer,
      closers: [() => publisher.close(), () => kafkaReady.close(), async () => (givenPool === undefined ? pool.end() : undefined)],
    };
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          readiness: [
            postgresReadiness(pool),
            // Provisioning has run: there is a table to write to.
            { name: 'metric-points-schema', check: () => pool.query('SELECT 1 FROM metric_points LIMIT 1') },
            kafkaReady,
          ],
        }),
      ],
      controllers: [SeriesHttpController, openApiController(openApi)],
      providers: [
        apiErrorFilter({ logger, statusByCode: {} }),
        { provide: STORE, useValue: store },
        { provide: SERIES_LIMITS, useValue: limits },
        { provide: PARTS, useValue: parts },
        StorageLifecycle,
        ...operatorProviders(config, logger),
      ],
    };
  }
}
