import type { SQSClient } from '@aws-sdk/client-sqs';
import { type InboundMessage, RetriableError, isRetriable } from '@qls/messaging';
import { SqsConsumer, type SqsLogger, queueDepth } from '@qls/sqs';
import type { FanOutMetrics } from './fan-out.metrics';
import { decodeTask } from './fan-out-task';
import type { FanOutTaskApplier } from './task-applier';

export interface FanOutWorkerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Tasks whose body is unreadable go here at once; tasks failing 3 receives are moved by the queue's RedrivePolicy. */
  readonly deadLetterQueueUrl: string;
  readonly applier: FanOutTaskApplier;
  /** Tasks applied at once. @defaultValue 8 */
  readonly concurrency?: number;
  /** @defaultValue 20 */
  readonly waitTimeSeconds?: number;
  /** @defaultValue 60 (the queue's, infra/provision/topology.json) */
  readonly visibilityTimeoutSeconds?: number;
  /** @defaultValue 300 */
  readonly maxProcessingSeconds?: number;
  /** Backoff of a failed task (by receive count). @defaultValue `{ initialMs: 1_000, maxMs: 30_000 }` */
  readonly retry?: { initialMs: number; maxMs: number };
  readonly metrics?: FanOutMetrics;
  readonly logger?: SqsLogger;
}

/**
 * A competing consumer of `fan-out-tasks` (SqsConsumer: pooled long polling,
 * visibility heartbeat, batched deletes). A task is deleted only after its
 * feed writes; a worker killed mid-task leaves it to be redelivered after its
 * visibility timeout, and re-applying it changes nothing. A task that keeps
 * failing goes to the DLQ after 3 receives (the queue's RedrivePolicy); an
 * unreadable one goes there at once. Each task runs in a CONSUMER span that
 * continues the post's trace (carried as message attributes).
 */
export class FanOutWorker {
  private readonly consumer: SqsConsumer;

  constructor(private readonly options: FanOutWorkerOptions) {
    this.consumer = new SqsConsumer(options.sqs, {
      queueUrl: options.queueUrl,
      deadLetterQueueUrl: options.deadLetterQueueUrl,
      concurrency: options.concurrency ?? 8,
      waitTimeSeconds: options.waitTimeSeconds ?? 20,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 60,
      maxProcessingSeconds: options.maxProcessingSeconds ?? 300,
      retry: options.retry ?? { initialMs: 1_000, maxMs: 30_000 },
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async start(): Promise<void> {
    await this.consumer.start((message) => this.handle(message));
  }

  /** Stops receiving, finishes the tasks in flight, flushes deletes. */
  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  /** Visible and in-flight tasks (for the queue-depth gauges). */
  depth(): ReturnType<typeof queueDepth> {
    return queueDepth(this.options.sqs, this.options.queueUrl);
  }

  private async handle(message: InboundMessage): Promise<void> {
    const task = decodeTask(message.body);
    try {
      await this.options.applier.apply(task);
    } catch (error) {
      this.options.metrics?.failures.inc({ stage: 'task' });
      // Redis or Postgres trouble: redeliver with backoff; the DLQ takes it after 3 receives.
      if (isRetriable(error)) throw error;
      throw new RetriableError('FANOUT.TASK_FAILED', `applying fan-out task failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
