import type { BackgroundTask, Logger } from '@qls/observability';
import type { DeadLetterMetrics, DeadLetterQueue, DeadLetterStatus } from '@qls/sqs';

export interface DlqStatusPollerOptions {
  readonly intervalMs: number;
  readonly metrics: DeadLetterMetrics;
  readonly logger: Logger;
}

/**
 * Keeps the sqs_dlq_* gauges current: refreshes at boot and every
 * `intervalMs`, never two refreshes at once. A failed refresh leaves the last
 * values (and is logged); the readiness check reports SQS being unreachable.
 * Runs with the app's lifecycle (`BackgroundModule`).
 */
export class DlqStatusPoller implements BackgroundTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly dlq: DeadLetterQueue,
    private readonly options: DlqStatusPollerOptions,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  async stop(): Promise<void> {
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
