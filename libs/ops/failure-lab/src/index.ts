// Invariant checkers of the failure lab (docs/failure-lab.md), one per system, for tests and the lab's scenarios.
// drop-system: notifications {
export {
  NOTIFICATION_INVARIANTS,
  PERMANENT_NOTIFICATION_CODES,
  checkNotifications,
  readNotificationRecords,
} from './lib/notifications.invariants';
export type {
  AcknowledgedNotification,
  NotificationCheckOptions,
  NotificationDeadLetter,
  NotificationRecords,
  NotificationRow,
  ProviderSend,
} from './lib/notifications.invariants';
// drop-system }
export { OUTBOX_INVARIANTS, checkOutbox } from './lib/outbox.invariants';
export type { CommittedEvent, PublishedEvent } from './lib/outbox.invariants';
// drop-system: metrics {
export { METRICS_INVARIANTS, checkMetrics, storageKey } from './lib/metrics.invariants';
export type { MetricsCheckOptions, MetricsOutputs, RawRecord } from './lib/metrics.invariants';
// drop-system }
