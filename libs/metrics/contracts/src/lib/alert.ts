import { z } from 'zod';

/** Kafka topic of alert transitions, keyed by fingerprint. */
export const ALERTS_TOPIC = 'alerts';

export const alertStatuses = ['pending', 'firing', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

/**
 * One alert transition on `alerts`. `fingerprint` names the alert (rule +
 * series); `id` = fingerprint:activeAt:status names the transition, so a
 * replay that re-emits it can be recognised and never re-notifies.
 */
export const alertEventV1 = z.looseObject({
  schemaVersion: z.literal(1),
  id: z.string().min(1),
  fingerprint: z.string().min(1),
  rule: z.string().min(1),
  kind: z.enum(['threshold', 'absence']),
  severity: z.string().min(1),
  status: z.enum(alertStatuses),
  serviceId: z.string().min(1),
  metric: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  /** Event time the condition started to hold (the pending/firing episode). */
  activeAt: z.number().int(),
  /** Event time of this transition. */
  at: z.number().int(),
  /** The aggregate that triggered it (threshold rules), or null. */
  value: z.number().nullable(),
  summary: z.string(),
});
export type AlertEvent = z.infer<typeof alertEventV1>;

export function parseAlertEvent(value: string): AlertEvent {
  return alertEventV1.parse(JSON.parse(value));
}
