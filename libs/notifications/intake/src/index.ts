export { NotificationIntake } from './lib/create-notification';
export type { CreateNotificationInput, CreateNotificationResult, NotificationIntakeOptions } from './lib/create-notification';
export { createNotificationSchema, idempotencyKeyFor, intakeDefaults, parseCreateNotification } from './lib/create-notification.request';
export type { CreateNotificationCommand, IntakeLimits } from './lib/create-notification.request';
export { getNotification } from './lib/get-notification';
export { notificationsWithoutOutboxEvent } from './lib/invariants';
export type { NotificationWithoutEvent } from './lib/invariants';
export {
  IdempotencyConflictError,
  NotificationErrorCode,
  NotificationNotFoundError,
  NotificationRateLimitedError,
  NotificationUserMismatchError,
  NotificationValidationError,
} from './lib/notification.errors';
export type { FieldIssue } from './lib/notification.errors';
export type { Caller, NotificationView } from './lib/notification.view';
