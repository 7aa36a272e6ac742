import type { DynamicModule } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { KafkaLagReader, LagMetrics, LagMonitor } from '@qls/kafka';
import { BackgroundModule, type Logger, type MetricsRegistry, ReadinessChecks } from '@qls/observability';
import { type GroupStateRewinder, ReplayService } from '@qls/stream-replay';
import type { Config } from './config';
import { LAG_MONITOR, REPLAY_SERVICE } from './tokens';

export interface LagAndReplayDeps {
  readonly registry: MetricsRegistry;
  readonly logger: Logger;
  /** State rewinders by consumer group id (see rewinders.ts). */
  readonly rewinders?: ReadonlyMap<string, GroupStateRewinder> | undefined;
  /** Closes what the rewinders hold (a Postgres pool), after the HTTP server. */
  readonly closeRewinders?: (() => Promise<void>) | undefined;
}

/**
 * The lag monitor (LAG_MONITOR, for GET /lag), polling once the app is up,
 * its reader answering the `kafka` readiness check, and the replay service
 * (REPLAY_SERVICE) with the state rewinders. On shutdown the polls stop first;
 * the reader's and the replay's admin clients and the rewinders' pool close
 * after the HTTP server.
 */
export function lagAndReplay(config: Config, { registry, logger, rewinders, closeRewinders }: LagAndReplayDeps): DynamicModule {
  const lagReader = (kafka: Kafka, readiness: ReadinessChecks) => {
    const reader = new KafkaLagReader(kafka);
    readiness.add({ name: 'kafka', check: () => reader.ping() });
    return reader;
  };
  const lagMonitor = (reader: KafkaLagReader) =>
    new LagMonitor(reader, {
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
  return BackgroundModule.run({
    providers: [
      { provide: KafkaLagReader, inject: [Kafka, ReadinessChecks], useFactory: lagReader },
      { provide: LAG_MONITOR, inject: [KafkaLagReader], useFactory: lagMonitor },
      {
        provide: REPLAY_SERVICE,
        inject: [Kafka],
        useFactory: (kafka: Kafka) => new ReplayService(kafka, { logger, ...(rewinders ? { rewinders } : {}) }),
      },
    ],
    inject: [LAG_MONITOR, KafkaLagReader, REPLAY_SERVICE],
    useFactory: (monitor, reader, replay) => ({
      start: () => monitor.start(),
      stop: () => monitor.stop(),
      close: async () => {
        await Promise.all([reader.close(), replay.close(), closeRewinders?.()]);
      },
    }),
  });
}
