import type { Kafka } from 'kafkajs';
import { AlertingBackpressure, type AlertingBackpressureOptions, KafkaGroupLagSource } from './alerting-lag';
import { type MetricsIngestEnv, backpressureSettings, batcherSettings, ingestLimits } from './ingest.config';
import type { IngestMetrics } from './ingest.metrics';
import { MetricsIngestor } from './metrics.ingestor';
import { ProduceBatcher, type ProduceBatcherOptions } from './produce.batcher';

export interface IngestPipelineDeps {
  /** Reads the alerting group's lag (an admin client of its own). */
  readonly kafka: Kafka;
  /** Sends the batches (the app's KafkaPublisher, with the configured compression). */
  readonly publisher: ProduceBatcherOptions['publisher'];
  readonly metrics: IngestMetrics;
  readonly logger: NonNullable<AlertingBackpressureOptions['logger']>;
}

/**
 * What the ingest runs besides its routes: the {@link MetricsIngestor} the
 * routes call, batching into the raw topic, and the alerting lag read every
 * interval for backpressure. A background task: `start` reads the lag once
 * before the app takes traffic (a failed read does not stop the boot: fail
 * open); `stop` stops reading it; `close` — after the HTTP server stopped
 * taking requests — sends what is still batched (the requests waiting for it
 * get their answer) and closes the lag reader. The publisher is the caller's
 * to close, after this.
 */
export class IngestPipeline {
  readonly ingestor: MetricsIngestor;
  private readonly batcher: ProduceBatcher;
  private readonly lagSource: KafkaGroupLagSource;
  private readonly backpressure: AlertingBackpressure;

  constructor(config: MetricsIngestEnv, { kafka, publisher, metrics, logger }: IngestPipelineDeps) {
    this.batcher = new ProduceBatcher({
      publisher,
      ...batcherSettings(config),
      onBatch: (records, seconds, error) => {
        metrics.produceBatchRecords.observe(records);
        metrics.produceDuration.observe({ result: error === undefined ? 'ok' : 'error' }, seconds);
      },
    });
    this.lagSource = new KafkaGroupLagSource(kafka, { groupId: config.ALERTING_GROUP_ID, topic: config.METRICS_RAW_TOPIC });
    this.backpressure = new AlertingBackpressure({
      source: this.lagSource,
      settings: backpressureSettings(config),
      intervalMs: config.BACKPRESSURE_POLL_INTERVAL_MS,
      metrics,
      logger,
    });
    this.ingestor = new MetricsIngestor({ limits: ingestLimits(config), sink: this.batcher, backpressure: this.backpressure, metrics });
  }

  async start(): Promise<void> {
    await this.backpressure.start();
  }

  stop(): void {
    this.backpressure.stop();
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.lagSource.close();
  }
}
