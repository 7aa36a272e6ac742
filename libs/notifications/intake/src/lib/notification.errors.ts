import { excerpt } from '@qls/config';
import { PermanentError, RetriableError } from '@qls/messaging';

/** Stable codes of the intake's errors; the HTTP edge maps them to statuses. */
export const NotificationErrorCode = {
  validationFailed: 'NOTIFICATION.VALIDATION_FAILED',
  userMismatch: 'NOTIFICATION.USER_MISMATCH',
  notFound: 'NOTIFICATION.NOT_FOUND',
  idempotencyConflict: 'NOTIFICATION.IDEMPOTENCY_CONFLICT',
  rateLimited: 'NOTIFICATION.RATE_LIMITED',
} as const;

/** One problem with a request, naming the field (`channel`, `data.items`, `Idempotency-Key`) when there is one. */
export interface FieldIssue {
  readonly field: string | undefined;
  readonly message: string;
}

/**
 * The request is malformed; sending it again unchanged cannot succeed.
 * `field` names the first offending field (absent when the body as a whole is
 * wrong); `issues` lists every problem found.
 */
export class NotificationValidationError extends PermanentError {
  readonly field: string | undefined;
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly [FieldIssue, ...FieldIssue[]]) {
    super(NotificationErrorCode.validationFailed, issues.map((issue) => issue.message).join('; '), { context: { issues } });
    this.field = issues[0].field;
    this.issues = issues;
  }
}

/** The body's `userId` is not the authenticated caller: a caller sends notifications to itself only. */
export class NotificationUserMismatchError extends PermanentError {
  readonly field = 'userId';

  constructor() {
    super(NotificationErrorCode.userMismatch, 'userId must be the authenticated user (the token subject)');
  }
}

/**
 * No notification with that id belongs to the caller. Deliberately the same
 * answer whether the id does not exist or belongs to someone else, so ids of
 * other users' notifications cannot be probed.
 */
export class NotificationNotFoundError extends PermanentError {
  constructor(id: string) {
    super(NotificationErrorCode.notFound, `notification ${excerpt(id)} not found`, { context: { notificationId: excerpt(id, 100) } });
  }
}

/**
 * The idempotency key (or the notification id) was already used for a
 * different request. Like Stripe, a key identifies one request: a repeat must
 * carry the same body, otherwise it is refused rather than silently answered
 * with the first result.
 */
export class IdempotencyConflictError extends PermanentError {
  constructor(
    readonly field: 'Idempotency-Key' | 'notificationId',
    message: string,
    context: Record<string, unknown>,
  ) {
    super(NotificationErrorCode.idempotencyConflict, message, { context });
  }
}

/** The caller spent its request budget; it may try again after `retryAfterSeconds`. */
export class NotificationRateLimitedError extends RetriableError {
  constructor(readonly retryAfterSeconds: number) {
    super(NotificationErrorCode.rateLimited, `rate limit exceeded: retry after ${retryAfterSeconds} s`, { context: { retryAfterSeconds } });
  }
}
