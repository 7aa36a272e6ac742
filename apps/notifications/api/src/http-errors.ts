import type { StatusByCode } from '@qls/http-api';
import { NotificationErrorCode } from '@qls/notification-intake';

/**
 * The only place the notification API's error codes become HTTP statuses;
 * the answers themselves (body, Retry-After, 401, 413, 5xx) are
 * @qls/http-api's `toHttpError`.
 */
export const statusByCode: StatusByCode = {
  [NotificationErrorCode.validationFailed]: 400,
  [NotificationErrorCode.userMismatch]: 403,
  [NotificationErrorCode.notFound]: 404,
  [NotificationErrorCode.idempotencyConflict]: 409,
  [NotificationErrorCode.rateLimited]: 429,
};
