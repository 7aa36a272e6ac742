import type { Admin, Kafka } from 'kafkajs';
import { LazyConnection } from '@qls/kafka';
import { errorMessage } from '@qls/messaging';
import {
  type AlertingLag,
  type AlertingLagSource,
  type BackpressureDecision,
  type BackpressureSettings,
  decideBackpressure,
} from './backpressure';
import type { IngestMetrics } from './ingest.metrics';

/**
 * The lag of a consumer group on a topic from Kafka's own bookkeeping: the sum
 * over partitions of (end offset − the group's committed offset), what
 * `kafka-consumer-groups.sh --describe` shows. A partition where the group has
 * committed nothing yet counts 0: a group that starts at the end (the alerter
 * does) has nothing to catch up there, and a group that does not exist yet
 * must not throttle the ingest the day it is deployed.
 */
export class KafkaGroupLagSource implements AlertingLagSource {
  private readonly admin: Admin;
  private readonly connection: LazyConnection;

  constructor(
    kafka: Kafka,
    private readonly options: { readonly groupId: string; readonly topic: string },
  ) {
    this.admin = kafka.admin();
    this.connection = new LazyConnection(() => this.admin.connect());
  }

  async lag(): Promise<AlertingLag> {
    const admin = await this.ready();
    const { groupId, topic } = this.options;
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let messages = 0;
    for (const { partition, high } of ends) {
      const offset = committedByPartition.get(partition);
      if (offset === undefined || offset < 0) continue;
      messages += Math.max(0, Number(high) - offset);
    }
    return { messages };
  }

  async close(): Promise<void> {
    const connected = this.connection.release();
    if (connected) await connected.then(() => this.admin.disconnect()).catch(() => undefined);
  }

  private async ready(): Promise<Admin> {
    await this.connection.ready();
    return this.admin;
  }
}

export interface AlertingBackpressureOptions {
  readonly source: AlertingLagSource;
  readonly settings: BackpressureSettings;
  /** How often the lag is read. */
  readonly intervalMs: number;
  /**
   * How long {@link AlertingBackpressure.start} waits for the first reading (the lag stays unknown
   * meanwhile: fail open), so that a broker that does not answer does not hold up the boot.
   * @defaultValue 2_000
   */
  readonly firstReadTimeoutMs?: number;
  readonly metrics: Pick<IngestMetrics, 'alertingLag' | 'alertingLagSeconds' | 'lagReadFailures' | 'backpressureActive'>;
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * Reads the alerting lag every `intervalMs` (never two reads at once) and
 * answers, without I/O, what the ingest does with the next request. A failed
 * read makes the lag unknown — no backpressure (fail open) — and is counted
 * and logged; so is every change between "applies" and "does not".
 */
export class AlertingBackpressure {
  private reading: AlertingLag | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AlertingLag | undefined> | undefined;
  private active = false;

  constructor(private readonly options: AlertingBackpressureOptions) {
    options.metrics.backpressureActive.set({ policy: options.settings.policy }, 0);
  }

  /**
   * Reads the lag now and every `intervalMs` from now on; resolves after the
   * first read, or after `firstReadTimeoutMs` if it takes longer. Never rejects.
   */
  async start(): Promise<void> {
    this.timer ??= setInterval(() => void this.refresh(), this.options.intervalMs);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.refresh(),
      new Promise((resolve) => (timeout = setTimeout(resolve, this.options.firstReadTimeoutMs ?? 2_000))),
    ]);
    clearTimeout(timeout);
  }

  /** Stops reading (a read in progress is not waited for: closing the lag source ends it). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The lag as last read; undefined when unknown. */
  get lag(): AlertingLag | undefined {
    return this.reading;
  }

  decide(): BackpressureDecision {
    return decideBackpressure(this.options.settings, this.reading);
  }

  /** Reads the lag now (joining a read in progress); resolves with the reading, undefined when it failed. */
  refresh(): Promise<AlertingLag | undefined> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<AlertingLag | undefined> {
    const { source, metrics, logger, settings } = this.options;
    try {
      this.reading = await source.lag();
      metrics.alertingLag.set(this.reading.messages);
      if (this.reading.seconds !== undefined) metrics.alertingLagSeconds.set(this.reading.seconds);
    } catch (error) {
      this.reading = undefined;
      metrics.lagReadFailures.inc();
      logger?.warn({ err: errorMessage(error) }, 'could not read the alerting lag; no backpressure until it can be read');
    }
    const active = this.decide().mode !== 'accept';
    if (active !== this.active) {
      this.active = active;
      metrics.backpressureActive.set({ policy: settings.policy }, active ? 1 : 0);
      logger?.warn(
        { policy: settings.policy, lagMessages: this.reading?.messages, threshold: settings.lagThreshold },
        active ? 'alerting lag above the threshold: backpressure applies' : 'alerting lag back under the threshold: backpressure lifted',
      );
    }
    return this.reading;
  }
}
