import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { redriveBody } from './dlq.http-controller';

/** notification-dlq-monitor's operator API (docs/api/notification-dlq-monitor.json, served at /openapi.json). */
export const openApi = openApiDocument({
  title: 'notification-dlq-monitor',
  version: '1',
  description: 'The notifications DLQ for operators: depth, dead letters, redrive (ADR 0006). Operator tokens (ops:read, ops:write).',
  operations: [
    {
      method: 'get',
      path: '/dlq',
      operationId: 'dlqStatus',
      summary: 'Depth, oldest age and the alert (ops:read)',
      responses: { 200: { description: 'The DLQ status', body: z.looseObject({}) } },
      errors: [403],
    },
    {
      method: 'get',
      path: '/dlq/messages',
      operationId: 'listDeadLetters',
      summary: 'Dead letters, oldest first, bodies truncated; nothing is removed (ops:read)',
      query: z.strictObject({ limit: z.string().optional() }),
      responses: { 200: { description: 'Dead letters', body: z.strictObject({ messages: z.array(z.looseObject({})) }) } },
      errors: [403],
    },
    {
      method: 'get',
      path: '/dlq/messages/{id}',
      operationId: 'inspectDeadLetter',
      summary: 'One dead letter with its attributes (ops:read)',
      params: { id: z.string() },
      responses: { 200: { description: 'The dead letter', body: z.looseObject({}) } },
      errors: [403, 404],
    },
    {
      method: 'post',
      path: '/dlq/redrive',
      operationId: 'redrive',
      summary: 'Move dead letters back: { maxMessages } or { all: true }, optionally a method (ops:write, audited)',
      body: redriveBody,
      responses: {
        200: {
          description: 'How many moved, and how',
          body: z.strictObject({ moved: z.number().int().min(0), method: z.enum(['move-task', 'receive-send-delete']) }),
        },
      },
      errors: [403, 501, 504],
    },
  ],
});
