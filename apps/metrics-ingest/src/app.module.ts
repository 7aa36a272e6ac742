import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { kafkaSettings } from '@qls/config';
import { LocalTokenBucket, apiProviders, createJwtVerifier, jwtSettings, openApiController } from '@qls/http-api';
import { createKafka, KafkaPublisher, kafkaTopicsReadiness } from '@qls/kafka';
import {
  AlertingBackpressure,
  KafkaGroupLagSource,
  MetricsIngestor,
  ProduceBatcher,
  type ServiceCaller,
  backpressureSettings,
  batcherSettings,
  compressionOf,
  createIngestMetrics,
  ingestLimits,
} from '@qls/metrics-ingest';
import { type Logger, MetricsRegistry, ObservabilityModule } from '@qls/observability';
import type { Config } from './config';
import { IngestRateLimitedError, countFailedIngest, statusByCode } from './http-errors';
import { MetricsIngestHttpController } from './metrics.http-controller';
import { openApi } from './openapi';
import { INGESTOR, INGEST_METRICS, LOGGER } from './tokens';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
}

const LIFECYCLE = Symbol('LIFECYCLE');

interface Clients {
  readonly backpressure: AlertingBackpressure;
  readonly batcher: ProduceBatcher;
  readonly closers: readonly (() => Promise<unknown>)[];
}

/**
 * Reads the alerting lag before the app takes traffic (a failed read does not
 * stop the boot: fail open) and every interval from then on; on shutdown stops reading it, then —
 * after the HTTP server stopped taking requests — sends what is still
 * batched (the requests waiting for it get their answer) and closes the
 * Kafka clients.
 */
@Injectable()
class IngestLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(@Inject(LIFECYCLE) private readonly clients: Clients) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.clients.backpressure.start();
  }

  onModuleDestroy(): void {
    this.clients.backpressure.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.clients.batcher.close();
    await Promise.all(this.clients.closers.map((close) => close()));
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const registry = new MetricsRegistry({ service });
    const metrics = createIngestMetrics(registry);
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const publisher = new KafkaPublisher(kafka, { compression: compressionOf(config), logger });
    const batcher = new ProduceBatcher({
      publisher,
      ...batcherSettings(config),
      onBatch: (records, seconds, error) => {
        metrics.produceBatchRecords.observe(records);
        metrics.produceDuration.observe({ result: error === undefined ? 'ok' : 'error' }, seconds);
      },
    });
    const lagSource = new KafkaGroupLagSource(kafka, { groupId: config.ALERTING_GROUP_ID, topic: config.METRICS_RAW_TOPIC });
    const backpressure = new AlertingBackpressure({
      source: lagSource,
      settings: backpressureSettings(config),
      intervalMs: config.BACKPRESSURE_POLL_INTERVAL_MS,
      metrics,
      logger,
    });
    const ingestor = new MetricsIngestor({ limits: ingestLimits(config), sink: batcher, backpressure, metrics });
    const kafkaReady = kafkaTopicsReadiness(kafka, [config.METRICS_RAW_TOPIC]);
    const clients: Clients = {
      backpressure,
      batcher,
      closers: [() => publisher.close(), () => lagSource.close(), () => kafkaReady.close()],
    };
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ logger, metrics: registry, readiness: [kafkaReady] })],
      controllers: [MetricsIngestHttpController, openApiController(openApi)],
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: INGEST_METRICS, useValue: metrics },
        { provide: INGESTOR, useValue: ingestor },
        { provide: LIFECYCLE, useValue: clients },
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
        IngestLifecycle,
      ],
    };
  }
}
