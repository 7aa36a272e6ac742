import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { ingestBodySchema, ingestDefaults } from '@qls/metrics-ingestion';

/** metrics-ingest's contract (docs/api/metrics-ingest.json, served at /openapi.json). */
export const openApi = openApiDocument({
  title: 'metrics-ingest',
  version: '1',
  description: "Takes a service's metric points onto the metrics-raw log (docs/architecture.md, System 2).",
  operations: [
    {
      method: 'post',
      path: '/metrics',
      operationId: 'ingestMetrics',
      summary: "Publish the caller's points: 202 once Kafka has them; while sampling, how many were dropped (Sampling: rate=<kept>)",
      body: ingestBodySchema(ingestDefaults.maxPointsPerRequest),
      responses: {
        202: {
          description: 'Accepted',
          body: z.strictObject({ accepted: z.number().int().min(0), sampledOut: z.number().int().min(0).optional() }),
        },
      },
      errors: [403],
    },
  ],
});
