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
import {
  AnalyticsProjection,
  type IndexerProjectionName,
  PostsIndexConsumer,
  type PostsProjection,
  SearchProjection,
  createIndexerMetrics,
} from '@qls/feed-indexer';
import { KafkaPublisher, createKafka, kafkaTopicsReadiness } from '@qls/kafka';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import type { Config } from './config';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** Use this pool instead of one on `DATABASE_URL` (tests: a pool on their own schema). The caller closes it. */
  readonly pool?: Pool;
}

interface Parts {
  readonly consumers: readonly PostsIndexConsumer[];
  readonly closers: readonly (() => Promise<unknown>)[];
}

const PARTS = Symbol('PARTS');

/**
 * At boot, joins each projection's consumer group (`search`, `analytics`: one
 * group each, so each has its own offsets and lag, and neither waits for the
 * other nor for the fan-out). On shutdown, leaves the groups first — the write
 * in progress finishes and is committed — then closes the clients after the
 * HTTP server.
 */
@Injectable()
class IndexerLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(@Inject(PARTS) private readonly parts: Parts) {}

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.parts.consumers.map((consumer) => consumer.start()));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.parts.consumers.map((consumer) => consumer.stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    for (const close of this.parts.closers) await close();
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
        options: `-c statement_timeout=${config.FEED_INDEXER_WRITE_TIMEOUT_MS}`,
      });
    if (givenPool === undefined) pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const registry = new MetricsRegistry({ service });
    const metrics = createIndexerMetrics(registry);
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const publisher = new KafkaPublisher(kafka, { logger });
    const projections: Record<IndexerProjectionName, { groupId: string; projection: PostsProjection; table: string }> = {
      search: { groupId: config.SEARCH_GROUP_ID, projection: new SearchProjection(pool), table: 'post_search' },
      analytics: { groupId: config.ANALYTICS_GROUP_ID, projection: new AnalyticsProjection(pool), table: 'post_analytics' },
    };
    const enabled = config.FEED_INDEXER_PROJECTIONS.map((name) => projections[name]);
    const consumers = enabled.map(
      ({ groupId, projection }) =>
        new PostsIndexConsumer({
          kafka,
          groupId,
          topic: config.POSTS_TOPIC,
          projection,
          deadLetterTopic: config.FEED_INDEXER_DEAD_LETTER_TOPIC,
          deadLetterPublisher: publisher,
          metrics,
          logger,
          maxBatchRecords: config.FEED_INDEXER_MAX_BATCH_RECORDS,
          partitionsConsumedConcurrently: config.FEED_INDEXER_PARTITION_CONCURRENCY,
          retry: { initialMs: config.FEED_INDEXER_RETRY_INITIAL_MS, maxMs: config.FEED_INDEXER_RETRY_MAX_MS },
          fromBeginning: config.FEED_INDEXER_FROM_BEGINNING,
        }),
    );
    const kafkaReady = kafkaTopicsReadiness(kafka, [config.POSTS_TOPIC, config.FEED_INDEXER_DEAD_LETTER_TOPIC]);
    const parts: Parts = {
      consumers,
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
            // Provisioning has run: the projections' tables exist.
            { name: 'feed-index-schema', check: () => pool.query(`SELECT 1 FROM ${enabled.map((p) => p.table).join(', ')} LIMIT 1`) },
            kafkaReady,
          ],
        }),
      ],
      providers: [{ provide: PARTS, useValue: parts }, IndexerLifecycle],
    };
  }
}
