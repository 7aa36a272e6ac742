import { SQSClient } from '@aws-sdk/client-sqs';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { BackgroundModule, type Logger, type ServiceContext, serviceModule } from '@qls/observability';
import { DeadLetterQueue, SqsModule, createDeadLetterMetrics, queueUrlResolver } from '@qls/sqs';
import type { Config } from './config';
import { DlqHttpController } from './dlq.http-controller';
import { DlqStatusPoller } from './dlq-status.poller';
import { DEAD_LETTER_QUEUE } from './tokens';
import { openApi } from './openapi';

/** The ops console's API over the notifications DLQ, and its gauges (refreshed by the poller). */
export const AppModule = serviceModule(({ config, logger }: ServiceContext<Config>, registry) => ({
  imports: [
    SqsModule.forRoot({ config, readinessQueue: config.NOTIFICATIONS_DLQ }),
    BackgroundModule.run({
      // Boot fails (and names the variables) when the queues are missing or do not belong together.
      providers: [
        { provide: DEAD_LETTER_QUEUE, inject: [SQSClient], useFactory: (sqs: SQSClient) => openDeadLetterQueue(sqs, config, logger) },
      ],
      provide: DlqStatusPoller,
      inject: [DEAD_LETTER_QUEUE],
      useFactory: (dlq) =>
        new DlqStatusPoller(dlq, { intervalMs: config.DLQ_POLL_INTERVAL_MS, metrics: createDeadLetterMetrics(registry), logger }),
    }),
  ],
  controllers: [DlqHttpController, openApiController(openApi)],
  providers: [apiErrorFilter({ logger, statusByCode: {} }), ...operatorProviders(config, logger)],
}));

async function openDeadLetterQueue(sqs: SQSClient, config: Config, logger: Logger): Promise<DeadLetterQueue> {
  const names = `NOTIFICATIONS_QUEUE (${config.NOTIFICATIONS_QUEUE}) / NOTIFICATIONS_DLQ (${config.NOTIFICATIONS_DLQ})`;
  const queueUrl = queueUrlResolver(sqs);
  try {
    const [dlqUrl, sourceUrl] = await Promise.all([queueUrl(config.NOTIFICATIONS_DLQ), queueUrl(config.NOTIFICATIONS_QUEUE)]);
    return await DeadLetterQueue.open(sqs, { queueUrl: dlqUrl, sourceQueueUrl: sourceUrl, logger });
  } catch (error) {
    throw new Error(`${names}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
