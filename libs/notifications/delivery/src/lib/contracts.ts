import { z } from 'zod';

export const channels = ['push', 'email', 'sms'] as const;
export type Channel = (typeof channels)[number];

export const notificationStatuses = ['queued', 'sending', 'sent', 'failed', 'dead_lettered'] as const;
export type NotificationStatus = (typeof notificationStatuses)[number];

/** Outbox event type and SQS message body of a notification to send. */
export const NOTIFICATION_REQUESTED = 'NotificationRequested.v1';

/**
 * The queued message. Consumers tolerate unknown fields; an unknown major
 * `schemaVersion` is a poison message (→ DLQ with the reason).
 */
export const notificationRequestedV1 = z.looseObject({
  schemaVersion: z.literal(1),
  notificationId: z.uuid(),
  userId: z.string().min(1).max(200),
  channel: z.enum(channels),
  template: z.string().min(1).max(200),
  data: z.record(z.string(), z.unknown()),
});
export type NotificationRequested = z.infer<typeof notificationRequestedV1>;
