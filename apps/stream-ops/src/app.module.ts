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
import { KafkaLagReader, LagMetrics, LagMonitor, createKafka } from '@qls/kafka';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule } from '@qls/observability';
import { type GroupStateRewinder, ReplayService } from '@qls/stream-ops';
import type { Config } from './config';
import { LagHttpController } from './lag.http-controller';
import { ReplayHttpController } from './replay.http-controller';
import { LAG_MONITOR, LAG_READER, REPLAY_SERVICE } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
  /** State rewinders by consumer group id (see rewinders.ts). */
  readonly rewinders?: ReadonlyMap<string, GroupStateRewinder>;
  /** Closes what the rewinders hold (a Postgres pool), after the HTTP server. */
  readonly closeRewinders?: () => Promise<void>;
}

const CLOSE_REWINDERS = Symbol('CLOSE_REWINDERS');

/**
 * Starts the lag monitor once the app is up; on shutdown stops its polls
 * first, then closes the Kafka connections after the HTTP server.
 */
@Injectable()
class StreamOpsLifecycle implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(LAG_MONITOR) private readonly monitor: LagMonitor,
    @Inject(LAG_READER) private readonly reader: KafkaLagReader,
    @Inject(REPLAY_SERVICE) private readonly replay: ReplayService,
    @Inject(CLOSE_REWINDERS) private readonly closeRewinders: () => Promise<void>,
  ) {}

  onApplicationBootstrap(): void {
    this.monitor.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.monitor.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.reader.close(), this.replay.close(), this.closeRewinders()]);
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger, rewinders, closeRewinders }: AppModuleOptions): DynamicModule {
    const registry = new MetricsRegistry({ service });
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const reader = new KafkaLagReader(kafka);
    const monitor = new LagMonitor(reader, {
      targets: config.LAG_GROUPS,
      intervalMs: config.LAG_POLL_INTERVAL_MS,
      rules: {
        windowSize: config.LAG_WINDOW_SIZE,
        stopAfterMs: config.LAG_STOP_AFTER_MS,
        hotFactor: config.LAG_HOT_FACTOR,
        hotMinLag: config.LAG_HOT_MIN_LAG,
        retentionCriticalRatio: config.LAG_RETENTION_CRITICAL_RATIO,
      },
      metrics: new LagMetrics(registry),
      logger,
    });
    const replay = new ReplayService(kafka, { logger, ...(rewinders ? { rewinders } : {}) });
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ logger, metrics: registry, readiness: [{ name: 'kafka', check: () => reader.ping() }] })],
      controllers: [LagHttpController, ReplayHttpController, openApiController(openApi)],
      providers: [
        apiErrorFilter({ logger, statusByCode: {} }),
        { provide: LAG_MONITOR, useValue: monitor },
        { provide: LAG_READER, useValue: reader },
        { provide: REPLAY_SERVICE, useValue: replay },
        { provide: CLOSE_REWINDERS, useValue: closeRewinders ?? (async () => undefined) },
        StreamOpsLifecycle,
        ...operatorProviders(config, logger),
      ],
    };
  }
}
