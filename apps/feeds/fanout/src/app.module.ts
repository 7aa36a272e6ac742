import { SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { type GivenPool, PostgresModule } from '@qls/postgres';
import { RedisModule } from '@qls/redis';
import { SqsModule } from '@qls/sqs';
import type { Config } from './config';
import { fanOutPosts } from './fan-out-posts';

export type AppModuleOptions = ServiceContext<Config> & GivenPool;

/**
 * The fan-out consumer (consumer group `fan-out` on `posts`): small authors'
 * posts written into their followers' feeds here, larger ones split into SQS
 * `fan-out-tasks` for feed-fanout-worker, celebrities' left to the read-time
 * merge. `/health/*` and `/metrics` on HTTP_PORT.
 */
export const AppModule = serviceModule(({ config, service, logger, pool }: AppModuleOptions, registry) => ({
  imports: [
    PostgresModule.forRoot({ config, logger, pool }),
    RedisModule.forRoot({ config, logger, options: { maxRetriesPerRequest: 2 } }),
    SqsModule.forRoot({ config, readinessQueue: config.FAN_OUT_TASKS_QUEUE }),
    KafkaModule.forRoot({ config, service, logger, readinessTopics: [config.POSTS_TOPIC, config.FANOUT_DEAD_LETTER_TOPIC] }),
    BackgroundModule.run({
      inject: [Pool, Redis, SQSClient, Kafka, KafkaPublisher],
      useFactory: (db, redis, sqs, kafka, publisher) => fanOutPosts(config, { pool: db, redis, sqs, kafka, publisher, registry, logger }),
    }),
  ],
}));
