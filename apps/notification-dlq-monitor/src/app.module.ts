import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { type Logger, MetricsRegistry, ObservabilityModule } from '@qls/observability';
import { DeadLetterQueue, createDeadLetterMetrics, createSqsClient, queueDepth, queueUrlResolver } from '@qls/sqs';
import type { Config } from './config';
import { DlqHttpController } from './dlq.http-controller';
import { DlqStatusPoller, type DlqStatusPollerOptions } from './dlq-status.poller';
import { DEAD_LETTER_QUEUE, DLQ_POLLER_OPTIONS } from './tokens';
import { openApi } from './openapi';

export interface AppModuleOptions {
  readonly config: Config;
  readonly service: string;
  readonly logger: Logger;
}

const SQS_CLIENT = Symbol('SQS_CLIENT');

/** Closes the SQS client after the HTTP server and the poller have stopped. */
@Injectable()
class SqsClientLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SQS_CLIENT) private readonly sqs: SQSClient) {}

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}

@Module({})
export class AppModule {
  static register({ config, service, logger }: AppModuleOptions): DynamicModule {
    const registry = new MetricsRegistry({ service });
    const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
    const queueUrl = queueUrlResolver(sqs);
    const pollerOptions: DlqStatusPollerOptions = {
      intervalMs: config.DLQ_POLL_INTERVAL_MS,
      metrics: createDeadLetterMetrics(registry),
      logger,
    };
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          logger,
          metrics: registry,
          readiness: [{ name: 'sqs', check: async () => queueDepth(sqs, await queueUrl(config.NOTIFICATIONS_DLQ)) }],
        }),
      ],
      controllers: [DlqHttpController, openApiController(openApi)],
      providers: [
        apiErrorFilter({ logger, statusByCode: {} }),
        { provide: SQS_CLIENT, useValue: sqs },
        SqsClientLifecycle,
        // Boot fails (and names the variables) when the queues are missing or do not belong together.
        { provide: DEAD_LETTER_QUEUE, useFactory: () => openDeadLetterQueue(sqs, queueUrl, config, logger) },
        { provide: DLQ_POLLER_OPTIONS, useValue: pollerOptions },
        DlqStatusPoller,
        ...operatorProviders(config, logger),
      ],
    };
  }
}

async function openDeadLetterQueue(
  sqs: SQSClient,
  queueUrl: (name: string) => Promise<string>,
  config: Config,
  logger: Logger,
): Promise<DeadLetterQueue> {
  const names = `NOTIFICATIONS_QUEUE (${config.NOTIFICATIONS_QUEUE}) / NOTIFICATIONS_DLQ (${config.NOTIFICATIONS_DLQ})`;
  try {
    const [dlqUrl, sourceUrl] = await Promise.all([queueUrl(config.NOTIFICATIONS_DLQ), queueUrl(config.NOTIFICATIONS_QUEUE)]);
    return await DeadLetterQueue.open(sqs, { queueUrl: dlqUrl, sourceQueueUrl: sourceUrl, logger });
  } catch (error) {
    throw new Error(`${names}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
