import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from '@qls/observability';
import type { DeadLetterMetrics, DeadLetterQueue, DeadLetterStatus } from '@qls/sqs';
import { DEAD_LETTER_QUEUE, DLQ_POLLER_OPTIONS } from './tokens';

export interface DlqStatusPollerOptions {
  readonly intervalMs: number;
  readonly metrics: DeadLetterMetrics;
  readonly logger: Logger;
}

/**
 * Keeps the sqs_dlq_* gauges current: refreshes at boot and every
 * `intervalMs`, never two refreshes at once. A failed refresh leaves the last
 * values (and is logged); the readiness check reports SQS being unreachable.
 */
@Injectable()
export class DlqStatusPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(DEAD_LETTER_QUEUE) private readonly dlq: DeadLetterQueue,
    @Inject(DLQ_POLLER_OPTIONS) private readonly options: DlqStatusPollerOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Reads the DLQ's status now and records it in the gauges. */
  async refresh(): Promise<DeadLetterStatus> {
    const status = await this.dlq.status();
    this.options.metrics.record(status);
    return status;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.refresh()
      .then(
        () => undefined,
        (error: unknown) => this.options.logger.warn({ err: error, queue: this.dlq.name }, 'could not refresh the DLQ gauges'),
      )
      .finally(() => (this.running = undefined));
  }
}
