import { Kafka } from 'kafkajs';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { KafkaModule } from '@qls/kafka';
import { MetricsDashboardConsumer, dashboardView } from '@qls/metrics-views';
import { BackgroundModule, ReadinessChecks, type ServiceContext, serviceModule } from '@qls/observability';
import type { Config } from './config';
import { DashboardHttpController } from './dashboard.http-controller';
import { VIEW } from './tokens';
import { openApi } from './openapi';

/**
 * The live view of the last DASHBOARD_WINDOW_SECONDS, fed by the `dashboard`
 * group from the latest offsets, ready once it has joined. On shutdown it
 * leaves the group first (the batch in hand, all in memory, finishes); the
 * Kafka clients close after the HTTP server.
 */
export const AppModule = serviceModule(({ config, service, logger }: ServiceContext<Config>, registry) => {
  const { view, metrics } = dashboardView({ windowSeconds: config.DASHBOARD_WINDOW_SECONDS, registry, logger });
  return {
    imports: [
      KafkaModule.forRoot({ config, service, logger, readinessTopics: [config.METRICS_TOPIC] }),
      BackgroundModule.run({
        inject: [Kafka, ReadinessChecks],
        useFactory: (kafka, readiness) => {
          const consumer = new MetricsDashboardConsumer({
            kafka,
            groupId: config.DASHBOARD_GROUP_ID,
            topic: config.METRICS_TOPIC,
            view,
            metrics,
            registry,
            logger,
          });
          readiness.add(consumer.readiness);
          return consumer;
        },
      }),
    ],
    controllers: [DashboardHttpController, openApiController(openApi)],
    providers: [{ provide: VIEW, useValue: view }, ...operatorProviders(config, logger), apiErrorFilter({ logger, statusByCode: {} })],
  };
});
