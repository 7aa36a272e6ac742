import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ReadinessChecks } from '@qls/observability';
import { createSqsClient } from './sqs-client';
import { queueUrlOf } from './sqs.queues';

export interface SqsModuleOptions {
  /** `sqsEnv` of libs/platform/config. */
  readonly config: { readonly SQS_ENDPOINT?: string | undefined; readonly AWS_REGION: string };
  /** `/health/ready` waits until SQS answers for this queue (it exists: provisioning has run). @defaultValue no check */
  readonly readinessQueue?: string;
}

/** Destroys the client when the app shuts down, after the HTTP server and the background tasks. */
@Injectable()
class SqsClientCloser implements OnApplicationShutdown {
  constructor(@Inject(SQSClient) private readonly sqs: SQSClient) {}

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}

/**
 * The app's SQS client ({@link createSqsClient}), injected by class
 * (`@Inject(SQSClient)`), with an `sqs` readiness check when a queue is named,
 * destroyed at application shutdown — global modules are torn down last.
 */
@Module({})
export class SqsModule {
  static forRoot({ config, readinessQueue }: SqsModuleOptions): DynamicModule {
    return {
      module: SqsModule,
      global: true,
      providers: [
        {
          provide: SQSClient,
          inject: [ReadinessChecks],
          useFactory: (readiness: ReadinessChecks) => {
            const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
            if (readinessQueue !== undefined) readiness.add({ name: 'sqs', check: () => queueUrlOf(sqs, readinessQueue) });
            return sqs;
          },
        },
        SqsClientCloser,
      ],
      exports: [SQSClient],
    };
  }
}
