import type { MetricPointsStore } from './metric-points.store';

const DAY_MS = 86_400_000;
/** Day partitions are checked this often (they are made days ahead; a missed run costs nothing). */
const PARTITION_CHECK_MS = 3_600_000;

export interface PartitionMaintenanceOptions {
  readonly store: MetricPointsStore;
  /** Day partitions of metric_points kept ready ahead of today (UTC). */
  readonly daysAhead: number;
  /** Day partitions older than this many days are dropped. */
  readonly retentionDays: number;
  readonly logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * At start and hourly: makes the coming days' partitions of metric_points (a
 * failure is logged, not fatal: points then land in the default partition)
 * and drops those past the retention. A background task: `start` resolves
 * after the first run, so the consumer that starts after it writes to
 * partitions that exist.
 */
export class PartitionMaintenance {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PartitionMaintenanceOptions) {}

  async start(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run(), PARTITION_CHECK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    const { store, daysAhead, retentionDays, logger } = this.options;
    const yesterday = new Date(Date.now() - DAY_MS);
    try {
      const created = await store.ensurePartitions(yesterday, daysAhead + 2);
      if (created > 0) logger.info({ created }, 'metric_points day partitions created');
    } catch (error) {
      logger.error({ err: error }, 'could not create metric_points partitions; points go to the default partition meanwhile');
    }
    try {
      const dropped = await store.dropPartitionsBefore(new Date(Date.now() - retentionDays * DAY_MS));
      if (dropped.length > 0) logger.info({ dropped, retentionDays }, 'metric_points day partitions past retention dropped');
    } catch (error) {
      logger.error({ err: error }, 'could not drop metric_points partitions past retention; retrying within the hour');
    }
  }
}
