import { encodeMetricPoint } from '@qls/metrics-contracts';
import { type OutboundMessage, injectTraceContext } from '@qls/messaging';
import { type BackpressureDecision, samplePoints } from './backpressure';
import { IngestThrottledError } from './ingest.errors';
import type { IngestMetrics } from './ingest.metrics';
import { type IngestLimits, assertOwnPoints, parseIngestRequest } from './ingest.request';

/** The authenticated caller of the ingest: a service, named by its bearer token's subject. */
export interface ServiceCaller {
  readonly serviceId: string;
}

/** Where accepted records go: a {@link ProduceBatcher} in the app. Resolves when they were acknowledged. */
export interface RecordSink {
  send(messages: readonly OutboundMessage[]): Promise<void>;
}

export interface MetricsIngestorOptions {
  readonly limits: IngestLimits;
  readonly sink: RecordSink;
  /** The backpressure decision for the next request ({@link AlertingBackpressure}). */
  readonly backpressure: { decide(): BackpressureDecision };
  readonly metrics: Pick<IngestMetrics, 'points' | 'requestPoints'>;
}

/** The answer to an accepted request. */
export interface IngestResult {
  /** Points produced (acknowledged by Kafka with acks=all). */
  readonly accepted: number;
  /** Present while sampling applies: points of this request dropped by it. */
  readonly sampledOut?: number;
  /** Present while sampling applies: the fraction of points kept. */
  readonly samplingRate?: number;
}

/**
 * `POST /metrics` without HTTP: validates the points, checks that they are
 * the caller's own, applies the backpressure policy, and produces them to
 * `metrics-raw` keyed by serviceId — through the shared batcher, resolving
 * once they were acknowledged. Every point is counted by outcome.
 */
export class MetricsIngestor {
  constructor(private readonly options: MetricsIngestorOptions) {}

  /**
   * @throws MetricsValidationError (400), ServiceMismatchError (403), IngestThrottledError (429),
   *   or the publisher's error when the produce failed (Kafka's: retriable → 503)
   */
  async ingest(caller: ServiceCaller, body: unknown): Promise<IngestResult> {
    const { metrics, limits, sink, backpressure } = this.options;
    let points;
    try {
      points = parseIngestRequest(body, limits);
      assertOwnPoints(points, caller.serviceId);
    } catch (error) {
      metrics.points.inc({ outcome: 'rejected' }, pointCountOf(body));
      throw error;
    }
    metrics.requestPoints.observe(points.length);

    const decision = backpressure.decide();
    if (decision.mode === 'throttle') {
      metrics.points.inc({ outcome: 'throttled' }, points.length);
      throw new IngestThrottledError(decision.retryAfterSeconds, decision.lagMessages);
    }
    let kept = points;
    let sampledOut = 0;
    if (decision.mode === 'sample') {
      ({ kept, dropped: sampledOut } = samplePoints(points, decision.rate));
      if (sampledOut > 0) metrics.points.inc({ outcome: 'sampled_out' }, sampledOut);
    }

    // The request's trace context on every record: the producer keeps it (its
    // send span links to it), so consumers continue the request's trace.
    const headers = injectTraceContext();
    const messages: OutboundMessage[] = kept.map((point) => ({ key: point.serviceId, body: encodeMetricPoint(point), headers }));
    try {
      await sink.send(messages);
    } catch (error) {
      metrics.points.inc({ outcome: 'failed' }, kept.length);
      throw error;
    }
    if (kept.length > 0) metrics.points.inc({ outcome: 'accepted' }, kept.length);
    return decision.mode === 'sample' ? { accepted: kept.length, sampledOut, samplingRate: decision.rate } : { accepted: kept.length };
  }
}

/** Points in a request body that was refused, when it has a `points` array (0 otherwise). */
export function pointCountOf(body: unknown): number {
  const points = typeof body === 'object' && body !== null ? (body as { points?: unknown }).points : undefined;
  return Array.isArray(points) ? points.length : 0;
}
