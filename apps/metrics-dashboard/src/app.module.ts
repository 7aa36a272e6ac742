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
import { createKafka, kafkaTopicsReadiness } from '@qls/kafka';
import { LiveSeriesView, MetricsDashboardConsumer, createDashboardMetrics } from '@qls/metrics-dashboard';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule } from '@qls/observability';
import type { Config } from './config';
import { DashboardHttpController } from './dashboard.http-controller';
import { VIEW } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
}

/**
 * The view's bounds: at most MAX_SERIES series and about VIEW_MEMORY_BYTES
 * (fewer series for a long window: 10,000 at the default 60 s, about 500 at
 * an hour), well inside a 256 MiB container. A new series beyond the cap evicts the least recently updated one
 * (`metrics_dashboard_series_evicted_total{reason="capacity"}`). Constants, not
 * variables: the deployment's environment is fixed.
 */
const MAX_SERIES = 10_000;
const VIEW_MEMORY_BYTES = 64 * 1024 * 1024;

interface Parts {
  readonly consumer: MetricsDashboardConsumer;
  readonly closers: readonly (() => Promise<unknown>)[];
}

const PARTS = Symbol('PARTS');

/**
 * Joins the consumer group once the app is up. On shutdown leaves the group
 * first (the batch in hand, all in memory, finishes), then closes the other
 * Kafka connections after the HTTP server.
 */
@Injectable()
class DashboardLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(@Inject(PARTS) private readonly parts: Parts) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.parts.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.parts.consumer.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const close of this.parts.closers) await close();
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const registry = new MetricsRegistry({ service });
    // The gauge reads the view at scrape time; the view reports evictions to the counter.
    const metrics = createDashboardMetrics(registry, () => view.size);
    const maxSeries = seriesCap(config.DASHBOARD_WINDOW_SECONDS);
    logger.info({ windowSeconds: config.DASHBOARD_WINDOW_SECONDS, maxSeries }, 'dashboard view bounds');
    const view = new LiveSeriesView({
      windowSeconds: config.DASHBOARD_WINDOW_SECONDS,
      maxSeries,
      onEvict: (reason, count) => metrics.seriesEvicted.inc({ reason }, count),
    });
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const consumer = new MetricsDashboardConsumer({
      kafka,
      groupId: config.DASHBOARD_GROUP_ID,
      topic: config.METRICS_TOPIC,
      view,
      metrics,
      registry,
      logger,
    });
    const kafkaReady = kafkaTopicsReadiness(kafka, [config.METRICS_TOPIC]);
    const parts: Parts = { consumer, closers: [() => kafkaReady.close()] };
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ logger, metrics: registry, readiness: [kafkaReady, consumer.readiness] })],
      controllers: [DashboardHttpController, openApiController(openApi)],
      providers: [
        { provide: VIEW, useValue: view },
        { provide: PARTS, useValue: parts },
        DashboardLifecycle,
        ...operatorProviders(config, logger),
        apiErrorFilter({ logger, statusByCode: {} }),
      ],
    };
  }
}

function seriesCap(windowSeconds: number): number {
  return Math.min(MAX_SERIES, Math.floor(VIEW_MEMORY_BYTES / LiveSeriesView.bytesPerSeries(windowSeconds)));
}
