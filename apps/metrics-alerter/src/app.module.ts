import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Pool } from 'pg';
import { kafkaSettings } from '@qls/config';
import { KafkaConsumer, KafkaPublisher, createKafka, kafkaTopicsReadiness } from '@qls/kafka';
import { AlertNotifier, AlerterRunner, createAlerterMetrics } from '@qls/metrics-alerter';
import { type Logger, MetricsRegistry, ObservabilityModule, postgresReadiness } from '@qls/observability';
import type { Config as AlerterConfig } from './config';

export interface AppModuleOptions {
  readonly config: AlerterConfig;
  readonly service: string;
  readonly logger: Logger;
}

const LIFECYCLE_PARTS = Symbol('LIFECYCLE_PARTS');

interface Part {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the alerter (and the notifier) once the app is up; on SIGTERM checkpoints, leaves the groups, closes connections. */
@Injectable()
class AlerterLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(LIFECYCLE_PARTS) private readonly parts: Part[]) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const part of this.parts) await part.start();
  }

  async onModuleDestroy(): Promise<void> {
    for (const part of [...this.parts].reverse()) await part.stop();
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 2_000 });
    pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
    const registry = new MetricsRegistry({ service });
    const kafka = createKafka(kafkaSettings(config, service), logger);
    const publisher = new KafkaPublisher(kafka, { logger });
    const kafkaReady = kafkaTopicsReadiness(kafka, [
      config.METRICS_TOPIC,
      config.METRICS_LATE_TOPIC,
      config.METRICS_DEAD_LETTER_TOPIC,
      config.ALERTS_TOPIC,
    ]);
    const runner = new AlerterRunner({
      kafka,
      pool,
      groupId: config.ALERTING_GROUP_ID,
      topic: config.METRICS_TOPIC,
      lateTopic: config.METRICS_LATE_TOPIC,
      deadLetterTopic: config.METRICS_DEAD_LETTER_TOPIC,
      alertsTopic: config.ALERTS_TOPIC,
      alerter: {
        rules: config.ALERT_RULES_FILE,
        outOfOrdernessMs: config.WINDOW_OUT_OF_ORDERNESS_MS,
        allowedLatenessMs: config.WINDOW_ALLOWED_LATENESS_MS,
        idleTimeoutMs: config.WINDOW_IDLE_PARTITION_MS,
      },
      publisher,
      checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
      fromBeginning: config.ALERTING_FROM_BEGINNING,
      savepointIntervalMs: config.SAVEPOINT_INTERVAL_MS,
      savepointRetentionMs: config.SAVEPOINT_RETENTION_HOURS * 3_600_000,
      metrics: createAlerterMetrics(registry),
      logger,
    });
    // Started in this order, stopped in reverse: the connections close last.
    const connections: Part = {
      start: async () => undefined,
      stop: async () => {
        await kafkaReady.close();
        await publisher.close();
        await pool.end();
      },
    };
    const parts: Part[] = [connections, runner];
    if (config.ALERT_NOTIFIER_ENABLED) parts.push(notifierPart(config, kafka, publisher, logger));
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger, metrics: registry, readiness: [postgresReadiness(pool), kafkaReady, runner.readiness()] }),
      ],
      providers: [{ provide: LIFECYCLE_PARTS, useValue: parts }, AlerterLifecycle],
    };
  }
}

function notifierPart(config: AlerterConfig, kafka: ReturnType<typeof createKafka>, publisher: KafkaPublisher, logger: Logger): Part {
  const notifier = new AlertNotifier({
    notificationApiUrl: config.NOTIFICATION_API_URL as string,
    recipientUserId: config.ALERT_RECIPIENT_USER_ID,
    channel: config.ALERT_NOTIFY_CHANNEL,
    signingKey: config.ALERT_NOTIFIER_SIGNING_KEY as string,
    issuer: config.AUTH_JWT_ISSUER as string,
    audience: config.AUTH_JWT_AUDIENCE as string,
  });
  const consumer = new KafkaConsumer(kafka, {
    groupId: config.ALERT_NOTIFIER_GROUP_ID,
    topics: [config.ALERTS_TOPIC],
    deadLetterTopic: config.METRICS_DEAD_LETTER_TOPIC,
    deadLetterPublisher: publisher,
    fromBeginning: true,
    logger,
  });
  return {
    start: () =>
      consumer.start(async (message) => {
        await notifier.handle(message);
      }),
    stop: () => consumer.stop(),
  };
}
