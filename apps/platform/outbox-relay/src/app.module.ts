import { SQSClient } from '@aws-sdk/client-sqs';
import { Pool } from 'pg';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import { OutboxRelay, createOutboxMetrics, relaySettings } from '@qls/outbox';
import { PostgresModule } from '@qls/postgres';
import { SqsModule, SqsPublisher, queueUrlResolver } from '@qls/sqs';
import type { Config } from './config';
import { OutboxHttpController } from './outbox.http-controller';
import { openApi } from './openapi';

/**
 * The outbox relay: started once the app is up; on shutdown stopped first
 * (in-flight batches finish and are marked), the pool and clients closed after
 * the HTTP server. Operator endpoints under `/outbox`.
 */
export const AppModule = serviceModule(({ config, service, logger }: ServiceContext<Config>, registry) => ({
  imports: [
    // Provisioning has run: the relay has a table to read.
    PostgresModule.forRoot({ config, logger, schema: { name: 'outbox-schema', tables: ['outbox_buckets'] } }),
    KafkaModule.forRoot({ config, service, logger }),
    SqsModule.forRoot({ config }),
    BackgroundModule.run({
      inject: [Pool, KafkaPublisher, SQSClient],
      useFactory: (pool, kafka, sqs) =>
        new OutboxRelay({
          ...relaySettings(config),
          pool,
          publishers: { kafka, sqs: new SqsPublisher(sqs) },
          sqsQueueUrl: queueUrlResolver(sqs),
          metrics: createOutboxMetrics(registry),
          logger,
        }),
    }),
  ],
  controllers: [OutboxHttpController, openApiController(openApi)],
  providers: [...operatorProviders(config, logger), apiErrorFilter({ logger, statusByCode: {} })],
}));
