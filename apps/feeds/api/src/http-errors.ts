import { FeedApiErrorCode } from '@qls/feed-service';
import type { StatusByCode } from '@qls/http-api';

/**
 * The only place the feed API's error codes become HTTP statuses; the answers
 * themselves (body, Retry-After, 401, 413, 5xx) are @qls/http-api's `toHttpError`.
 */
export const statusByCode: StatusByCode = {
  [FeedApiErrorCode.validationFailed]: 400,
  [FeedApiErrorCode.forbidden]: 403,
  [FeedApiErrorCode.notRegistered]: 403,
  [FeedApiErrorCode.userNotFound]: 404,
  [FeedApiErrorCode.postNotFound]: 404,
  [FeedApiErrorCode.userExists]: 409,
  [FeedApiErrorCode.handleTaken]: 409,
  [FeedApiErrorCode.postIdConflict]: 409,
  [FeedApiErrorCode.rateLimited]: 429,
  [FeedApiErrorCode.unavailable]: 503,
};
