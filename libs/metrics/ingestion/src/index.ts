export { AlertingBackpressure, KafkaGroupLagSource } from './lib/alerting-lag';
export type { AlertingBackpressureOptions } from './lib/alerting-lag';
export { backpressurePolicies, decideBackpressure, samplePoints } from './lib/backpressure';
export type {
  AlertingLag,
  AlertingLagSource,
  BackpressureDecision,
  BackpressurePolicyName,
  BackpressureSettings,
} from './lib/backpressure';
export { backpressureSettings, batcherSettings, compressionOf, ingestLimits, metricsIngestEnv } from './lib/ingest.config';
export { IngestErrorCode, IngestThrottledError, MetricsValidationError, ServiceMismatchError } from './lib/ingest.errors';
export type { FieldIssue } from './lib/ingest.errors';
export { createIngestMetrics } from './lib/ingest.metrics';
export type { IngestMetrics, PointOutcome } from './lib/ingest.metrics';
export { assertOwnPoints, ingestBodySchema, ingestDefaults, parseIngestRequest } from './lib/ingest.request';
export type { IngestLimits, IngestPoint } from './lib/ingest.request';
export { MetricsIngestor, pointCountOf } from './lib/metrics.ingestor';
export type { IngestResult, MetricsIngestorOptions, RecordSink, ServiceCaller } from './lib/metrics.ingestor';
export { ProduceBatcher } from './lib/produce.batcher';
export type { ProduceBatcherOptions } from './lib/produce.batcher';
export { IngestPipeline } from './lib/ingest.pipeline';
export type { IngestPipelineDeps } from './lib/ingest.pipeline';
