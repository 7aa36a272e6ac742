import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { metricPointFields } from '@qls/metrics-contracts';

/** metrics-dashboard's operator API (docs/api/metrics-dashboard.json, served at /openapi.json): operator tokens (ops:read). */
export const openApi = openApiDocument({
  title: 'metrics-dashboard',
  version: '1',
  description: 'The live view over the last DASHBOARD_WINDOW_SECONDS of event time. Operator tokens (ops:read).',
  operations: [
    {
      method: 'get',
      path: '/dashboard/series',
      operationId: 'dashboardSeries',
      summary: 'Every series in the window with its last value, count, min, max, avg and rate (ops:read)',
      // parseDashboardQuery (libs/metrics/views): each filter as in a point; empty means not given.
      query: z.strictObject({
        serviceId: metricPointFields.serviceId.or(z.literal('')).optional(),
        name: metricPointFields.name.or(z.literal('')).optional(),
      }),
      responses: { 200: { description: 'The series', body: z.array(z.looseObject({})) } },
      errors: [403],
    },
    {
      method: 'get',
      path: '/dashboard/services',
      operationId: 'dashboardServices',
      summary: 'Every service with series in the window (ops:read)',
      query: z.strictObject({}),
      responses: { 200: { description: 'The services', body: z.array(z.looseObject({})) } },
      errors: [403],
    },
  ],
});
