import { Kafka } from 'kafkajs';
import { LocalTokenBucket, apiProviders, createJwtVerifier, jwtSettings, openApiController } from '@qls/http-api';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import { IngestPipeline, type ServiceCaller, compressionOf, createIngestMetrics } from '@qls/metrics-ingestion';
import { BackgroundModule, type ServiceContext, serviceModule } from '@qls/observability';
import type { Config } from './config';
import { IngestRateLimitedError, countFailedIngest, statusByCode } from './http-errors';
import { MetricsIngestHttpController } from './metrics.http-controller';
import { openApi } from './openapi';
import { INGEST_METRICS } from './tokens';

export type AppModuleOptions = ServiceContext<Config>;

/**
 * `POST /metrics` batched into the raw topic, with backpressure from the
 * alerting lag (read before the app takes traffic, then every interval). On
 * shutdown the lag reading stops; after the HTTP server, what is still
 * batched is sent, then the Kafka clients close.
 */
export const AppModule = serviceModule(({ config, service, logger }: AppModuleOptions, registry) => {
  const metrics = createIngestMetrics(registry);
  return {
    imports: [
      KafkaModule.forRoot({
        config,
        service,
        logger,
        publisher: { compression: compressionOf(config) },
        readinessTopics: [config.METRICS_RAW_TOPIC],
      }),
      BackgroundModule.run({
        provide: IngestPipeline,
        inject: [Kafka, KafkaPublisher],
        useFactory: (kafka, publisher) => new IngestPipeline(config, { kafka, publisher, metrics, logger }),
      }),
    ],
    controllers: [MetricsIngestHttpController, openApiController(openApi)],
    providers: [
      { provide: INGEST_METRICS, useValue: metrics },
      ...apiProviders<ServiceCaller>({
        // The caller is the service named by the token's subject.
        verify: createJwtVerifier(jwtSettings(config), (subject) => ({ serviceId: subject })),
        errors: { logger, statusByCode, onError: (request) => countFailedIngest(metrics, request) },
        // A budget per service in this replica's memory; it always answers, so never fails open.
        rateLimit: {
          limiter: new LocalTokenBucket({ ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }),
          subjectOf: (caller) => caller.serviceId,
          refused: (retryAfterSeconds) => new IngestRateLimitedError(retryAfterSeconds),
          unavailable: (error) => logger.warn({ err: error }, 'rate limiter unavailable, request let through'),
        },
      }),
    ],
  };
});
