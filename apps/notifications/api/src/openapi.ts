import { identifier, z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { channels, notificationStatuses } from '@qls/notification-delivery';
import { createNotificationSchema, intakeDefaults } from '@qls/notification-intake';

const isoTime = z.string();

const accepted = z.strictObject({ id: z.string(), status: z.enum(notificationStatuses), statusUrl: z.string() });

const view = z.strictObject({
  id: z.string(),
  status: z.enum(notificationStatuses),
  channel: z.enum(channels),
  attempts: z.number().int(),
  createdAt: isoTime,
  updatedAt: isoTime,
  sentAt: isoTime.nullable(),
  lastError: z.string().nullable(),
});

/** Create → get: the answer's id is the notification to poll. */
const toStatus = { getNotification: { operationId: 'getNotification', parameters: { id: '$response.body#/id' } } };

/** notification-api's contract (docs/api/notification-api.json, served at /openapi.json). */
export const openApi = openApiDocument({
  title: 'notification-api',
  version: '1',
  description: 'Accepts notifications for delivery and reports their status (docs/notification-api.md).',
  operations: [
    {
      method: 'post',
      path: '/notifications',
      operationId: 'createNotification',
      summary: 'Accept a notification: 202 with its status URL, 200 with the first answer for a repeated Idempotency-Key',
      body: createNotificationSchema(intakeDefaults),
      headers: { 'Idempotency-Key': identifier(intakeDefaults.maxIdempotencyKeyLength) },
      responses: {
        200: { description: 'A repeat of an accepted request (Idempotent-Replayed: true)', body: accepted, links: toStatus },
        202: { description: 'Accepted: poll statusUrl (also in Location)', body: accepted, links: toStatus },
      },
      errors: [403, 409],
    },
    {
      method: 'get',
      path: '/notifications/{id}',
      operationId: 'getNotification',
      summary: "The caller's notification and where it is in queued → sending → sent | failed | dead_lettered",
      params: { id: z.string() },
      responses: { 200: { description: 'The notification', body: view } },
      errors: [404],
    },
  ],
});
