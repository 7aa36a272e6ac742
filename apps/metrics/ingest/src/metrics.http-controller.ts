import { Body, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiController, CurrentCaller } from '@qls/http-api';
import { type IngestMetrics, IngestPipeline, type ServiceCaller } from '@qls/metrics-ingestion';
import { inRequestSpan } from './request-span';
import { INGEST_METRICS } from './tokens';

export interface IngestAnswer {
  readonly accepted: number;
  /** Only while sampling applies (backpressure): points of this request dropped. */
  readonly sampledOut?: number;
}

/**
 * `POST /metrics` (the Prometheus scrape, `GET /metrics`, is ObservabilityModule's):
 * `{ "points": [...] }` from a service with its bearer token. 202 once Kafka
 * acknowledged the points; while sampling applies the answer says how many
 * were dropped and carries `Sampling: rate=<kept fraction>`.
 */
@ApiController('metrics')
export class MetricsIngestHttpController {
  constructor(
    @Inject(IngestPipeline) private readonly pipeline: IngestPipeline,
    @Inject(INGEST_METRICS) private readonly metrics: IngestMetrics,
  ) {}

  @Post()
  @HttpCode(202)
  async ingest(
    @CurrentCaller() caller: ServiceCaller,
    @Body() body: unknown,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<IngestAnswer> {
    const result = await inRequestSpan(request, '/metrics', () => this.pipeline.ingestor.ingest(caller, body));
    if (result.sampledOut === undefined) {
      this.metrics.requests.inc({ outcome: 'accepted' });
      return { accepted: result.accepted };
    }
    this.metrics.requests.inc({ outcome: 'sampled' });
    response.setHeader('Sampling', `rate=${result.samplingRate}`);
    return { accepted: result.accepted, sampledOut: result.sampledOut };
  }
}
