import { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { createIndexerMetrics } from '@qls/feed-indexing';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { type GivenPool, PostgresModule } from '@qls/postgres';
import type { Config } from './config';
import { postsIndexers, projectionTables } from './posts-indexers';

export type AppModuleOptions = ServiceContext<Config> & GivenPool;

/**
 * The feed indexer: a consumer group per projection on `posts` (full-text
 * search, analytics), joined once the app is up; on shutdown they leave their
 * groups (the write in progress finishes and is committed), then the
 * connections close after the HTTP server. `/health/*` and `/metrics` on HTTP_PORT.
 */
export const AppModule = serviceModule(({ config, service, logger, pool }: AppModuleOptions, registry) => ({
  imports: [
    PostgresModule.forRoot({
      config,
      logger,
      pool,
      // A write stuck longer than this fails and is retried, rather than outliving the group session.
      statementTimeoutMs: config.FEED_INDEXER_WRITE_TIMEOUT_MS,
      // Provisioning has run: the projections' tables exist.
      schema: { name: 'feed-index-schema', tables: projectionTables(config) },
    }),
    KafkaModule.forRoot({ config, service, logger, readinessTopics: [config.POSTS_TOPIC, config.FEED_INDEXER_DEAD_LETTER_TOPIC] }),
    BackgroundModule.run({
      inject: [Kafka, Pool, KafkaPublisher],
      useFactory: (kafka, db, publisher) =>
        postsIndexers(config, { kafka, pool: db, publisher, metrics: createIndexerMetrics(registry), logger }),
    }),
  ],
}));
