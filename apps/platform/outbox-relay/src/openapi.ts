import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { retryRequest } from './outbox.http-controller';

/** outbox-relay's operator API (docs/api/outbox-relay.json, served at /openapi.json): operator tokens (ops:read, ops:write). */
export const openApi = openApiDocument({
  title: 'outbox-relay',
  version: '1',
  description: "The outbox's backlog and parked rows, for operators (docs/security.md).",
  operations: [
    {
      method: 'get',
      path: '/outbox/stats',
      operationId: 'outboxStats',
      summary: 'Pending rows, the oldest one, parked rows (ops:read)',
      responses: { 200: { description: 'The backlog', body: z.looseObject({}) } },
      errors: [403],
    },
    {
      method: 'get',
      path: '/outbox/parked',
      operationId: 'listParked',
      summary: 'Parked rows, oldest first (ops:read)',
      responses: { 200: { description: 'Parked rows', body: z.array(z.looseObject({})) } },
      errors: [403],
    },
    {
      method: 'post',
      path: '/outbox/parked/retry',
      operationId: 'retryParked',
      summary: 'Put parked rows back in line: { ids } or { all: true } (ops:write, audited)',
      body: retryRequest,
      responses: { 200: { description: 'How many were retried', body: z.strictObject({ retried: z.number().int().min(0) }) } },
      errors: [403],
    },
  ],
});
