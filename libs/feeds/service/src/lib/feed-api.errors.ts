import { PermanentError, RetriableError } from '@qls/messaging';

/** Stable codes of the feed API's errors; the HTTP edge (apps/feeds/api) maps them to statuses. */
export const FeedApiErrorCode = {
  validationFailed: 'FEED.VALIDATION_FAILED',
  forbidden: 'FEED.FORBIDDEN',
  notRegistered: 'FEED.NOT_REGISTERED',
  userNotFound: 'FEED.USER_NOT_FOUND',
  postNotFound: 'FEED.POST_NOT_FOUND',
  userExists: 'FEED.USER_EXISTS',
  handleTaken: 'FEED.HANDLE_TAKEN',
  postIdConflict: 'FEED.POST_ID_CONFLICT',
  rateLimited: 'FEED.RATE_LIMITED',
  unavailable: 'FEED.UNAVAILABLE',
} as const;

/** One problem with a request, naming the field (`body`, `limit`, `cursor`) when there is one. */
export interface FieldIssue {
  readonly field: string | undefined;
  readonly message: string;
}

/** The request is malformed: `field` names the first offending field, `issues` lists every problem found. */
export class FeedValidationError extends PermanentError {
  readonly field: string | undefined;
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly [FieldIssue, ...FieldIssue[]]) {
    super(FeedApiErrorCode.validationFailed, issues.map((issue) => issue.message).join('; '), { context: { issues } });
    this.field = issues[0].field;
    this.issues = issues;
  }

  static of(field: string, message: string): FeedValidationError {
    return new FeedValidationError([{ field, message: `${field}: ${message}` }]);
  }
}

/** The caller tried to act as someone else (follow for another user, delete another's post): a user acts only as themselves. */
export class FeedForbiddenError extends PermanentError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(FeedApiErrorCode.forbidden, message);
  }
}

/** The caller has no user yet (POST /users first). */
export class NotRegisteredError extends PermanentError {
  constructor(userId: string) {
    super(FeedApiErrorCode.notRegistered, `user ${userId} (the token subject) does not exist yet: create it with POST /users`, {
      context: { userId },
    });
  }
}

export class UserNotFoundError extends PermanentError {
  constructor(userId: string) {
    super(FeedApiErrorCode.userNotFound, `user ${userId} not found`, { context: { userId } });
  }
}

/** No such post, or it was deleted: the same answer either way. */
export class PostNotFoundError extends PermanentError {
  constructor(postId: string) {
    super(FeedApiErrorCode.postNotFound, `post ${postId} not found`, { context: { postId } });
  }
}

/** POST /users for a user that exists with another handle (the same handle is a repeat, answered 200). */
export class UserExistsError extends PermanentError {
  readonly field = 'handle';

  constructor(userId: string, handle: string) {
    super(FeedApiErrorCode.userExists, `user ${userId} already exists with the handle "${handle}"`, { context: { userId } });
  }
}

export class HandleTakenError extends PermanentError {
  readonly field = 'handle';

  constructor(handle: string) {
    super(FeedApiErrorCode.handleTaken, `handle "${handle}" is taken`, { context: { handle } });
  }
}

/** A client-chosen postId already names another post (a different body or author). */
export class PostIdConflictError extends PermanentError {
  readonly field = 'postId';

  constructor(postId: string) {
    super(FeedApiErrorCode.postIdConflict, `postId ${postId} is already used by another post`, { context: { postId } });
  }
}

/** The caller spent its request budget; it may try again after `retryAfterSeconds` (answered with `Retry-After`). */
export class FeedRateLimitedError extends RetriableError {
  constructor(readonly retryAfterSeconds: number) {
    super(FeedApiErrorCode.rateLimited, `rate limit exceeded: retry after ${retryAfterSeconds} s`, { context: { retryAfterSeconds } });
  }
}

/** The feed cache (Redis) did not answer a read of the home feed (down, unreachable, timed out): answered 503 with `Retry-After`. */
export class FeedUnavailableError extends RetriableError {
  readonly retryAfterSeconds = 1;

  constructor(cause: unknown) {
    super(FeedApiErrorCode.unavailable, 'the feed cache is unavailable; retry later', { cause, retryAfterMs: 1_000 });
  }
}
