import { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { KafkaModule, KafkaPublisher } from '@qls/kafka';
import { createAlerterMetrics } from '@qls/metrics-alerting';
import { BackgroundModule, ReadinessChecks, type ServiceContext, serviceModule } from '@qls/observability';
import { PostgresModule } from '@qls/postgres';
import { alerterTasks } from './alerter-tasks';
import type { Config } from './config';

/**
 * The windowed alerter (and the alert notifier) once the app is up; on
 * SIGTERM it checkpoints and leaves the groups, then the connections close.
 * `/health/*` and `/metrics` on HTTP_PORT.
 */
export const AppModule = serviceModule(({ config, service, logger }: ServiceContext<Config>, registry) => {
  const topics = [config.METRICS_TOPIC, config.METRICS_LATE_TOPIC, config.METRICS_DEAD_LETTER_TOPIC, config.ALERTS_TOPIC];
  return {
    imports: [
      PostgresModule.forRoot({ config, logger }),
      KafkaModule.forRoot({ config, service, logger, readinessTopics: topics }),
      BackgroundModule.run({
        inject: [Pool, Kafka, KafkaPublisher, ReadinessChecks],
        useFactory: (pool, kafka, publisher, readiness) =>
          alerterTasks(config, { pool, kafka, publisher, readiness, metrics: createAlerterMetrics(registry), logger }),
      }),
    ],
  };
});
