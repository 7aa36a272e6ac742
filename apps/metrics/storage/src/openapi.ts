import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { metricPointFields } from '@qls/metrics-contracts';

/** metrics-storage's operator API (docs/api/metrics-storage.json, served at /openapi.json): operator tokens (ops:read). */
export const openApi = openApiDocument({
  title: 'metrics-storage',
  version: '1',
  description: 'Stored metric points for the ops console. Operator tokens (ops:read).',
  operations: [
    {
      method: 'get',
      path: '/series',
      operationId: 'series',
      summary: 'The stored points of every series of a metric in [from, to), oldest first (ops:read)',
      // parseSeriesQuery (libs/metrics/point-store): serviceId and name as in a point, times as epoch ms or ISO 8601 with a zone.
      query: z.strictObject({
        serviceId: metricPointFields.serviceId,
        name: metricPointFields.name,
        from: z.string().optional(),
        to: z.string().optional(),
        limit: z.string().regex(/^\d+$/).optional(),
      }),
      responses: {
        200: {
          description: 'The points; truncated when more matched than limit',
          body: z.strictObject({
            serviceId: z.string(),
            name: z.string(),
            from: z.string(),
            to: z.string(),
            points: z.array(z.looseObject({})),
            truncated: z.boolean(),
          }),
        },
      },
      errors: [403],
    },
  ],
});
