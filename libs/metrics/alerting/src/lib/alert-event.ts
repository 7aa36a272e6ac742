import type { AlertEvent } from '@qls/metrics-contracts';
import type { AlertTransition } from '@qls/metrics-windowing';

/** Outbox event type of an alert transition published to `alerts`. */
export const ALERT_TRANSITION_EVENT = 'AlertTransition.v1';

/** The `alerts` record of a transition (the contract, without runtime-only fields). */
export function toAlertEvent(alert: AlertTransition): AlertEvent {
  return {
    schemaVersion: 1,
    id: alert.id,
    fingerprint: alert.fingerprint,
    rule: alert.rule,
    kind: alert.kind,
    severity: alert.severity,
    status: alert.status,
    serviceId: alert.serviceId,
    metric: alert.metric,
    labels: alert.labels,
    activeAt: alert.activeAt,
    at: alert.at,
    value: alert.value,
    summary: alert.summary,
  };
}
