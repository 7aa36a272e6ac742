export { feedApiEnv } from './lib/feed-api.config';
export {
  FeedApiErrorCode,
  FeedForbiddenError,
  FeedRateLimitedError,
  FeedUnavailableError,
  FeedValidationError,
  HandleTakenError,
  NotRegisteredError,
  PostIdConflictError,
  PostNotFoundError,
  UserExistsError,
  UserNotFoundError,
} from './lib/feed-api.errors';
export type { FieldIssue } from './lib/feed-api.errors';
export { createFeedApiMetrics, feedApiOperations } from './lib/feed-api.metrics';
export type { FeedApiMetrics, FeedApiOperation } from './lib/feed-api.metrics';
export { FEED_AGGREGATE_TYPE, feedOutboxEvent } from './lib/feed-outbox';
export type { FeedOutboxOptions } from './lib/feed-outbox';
export { FeedReader } from './lib/feed.reader';
export type { FeedPage, FeedReaderDeps, FeedReaderOptions } from './lib/feed.reader';
export { follow, unfollow } from './lib/follows';
export type { FollowView } from './lib/follows';
export { createPost, deletePost, getPost } from './lib/posts';
export type { PostView } from './lib/posts';
export {
  feedApiLimits,
  feedApiRequestSchemas,
  isPostId,
  isUserId,
  parseCreatePost,
  parseCreateUser,
  parseFeedQuery,
  parseSearchQuery,
  parseStatsQuery,
} from './lib/requests';
export type { Caller, CreatePostCommand, CreateUserCommand, FeedApiLimits, FeedQuery, SearchQuery, StatsQuery } from './lib/requests';
export { searchPosts } from './lib/search';
export type { SearchHit, SearchPage } from './lib/search';
export { userStats } from './lib/stats';
export type { UserStats } from './lib/stats';
export { createUser, getUser } from './lib/users';
export type { UserView } from './lib/users';
