import { z } from 'zod';

/** Kafka topic of the feed system's events: the source of truth, replayable (fan-out, search, analytics read it). */
export const POSTS_TOPIC = 'posts';

const userId = z.string().min(1).max(100);

/**
 * A post was created. Keyed by `authorId` on `posts`, so one author's posts
 * stay in order. `createdAt` (epoch ms) is the feed score under the default
 * (recency) ranking.
 */
export const postCreatedV1 = z.looseObject({
  type: z.literal('PostCreated'),
  schemaVersion: z.literal(1),
  postId: z.uuid(),
  authorId: userId,
  body: z.string().max(5_000),
  createdAt: z.number().int().nonnegative(),
});

/** A post was deleted: removed from every feed and from the author's recent posts (fanned out like a post). */
export const postDeletedV1 = z.looseObject({
  type: z.literal('PostDeleted'),
  schemaVersion: z.literal(1),
  postId: z.uuid(),
  authorId: userId,
  deletedAt: z.number().int().nonnegative(),
});

/** `followerId` started following `followeeId`: backfill the followee's recent posts into the follower's feed. Keyed by followeeId. */
export const followedV1 = z.looseObject({
  type: z.literal('Followed'),
  schemaVersion: z.literal(1),
  followerId: userId,
  followeeId: userId,
  at: z.number().int().nonnegative(),
});

/** `followerId` stopped following `followeeId`: remove the followee's posts from the follower's feed. Keyed by followeeId. */
export const unfollowedV1 = z.looseObject({
  type: z.literal('Unfollowed'),
  schemaVersion: z.literal(1),
  followerId: userId,
  followeeId: userId,
  at: z.number().int().nonnegative(),
});

export const feedEventV1 = z.discriminatedUnion('type', [postCreatedV1, postDeletedV1, followedV1, unfollowedV1]);
export type FeedEvent = z.infer<typeof feedEventV1>;
export type PostCreated = z.infer<typeof postCreatedV1>;
export type PostDeleted = z.infer<typeof postDeletedV1>;
export type Followed = z.infer<typeof followedV1>;
export type Unfollowed = z.infer<typeof unfollowedV1>;

/** Outbox event types (`<type>.v<version>`). */
export const FEED_EVENT_TYPES = {
  PostCreated: 'PostCreated.v1',
  PostDeleted: 'PostDeleted.v1',
  Followed: 'Followed.v1',
  Unfollowed: 'Unfollowed.v1',
} as const;

/** Parses a `posts` record value; throws a ZodError naming the field (the consumer dead-letters it). */
export function parseFeedEvent(value: string): FeedEvent {
  return feedEventV1.parse(JSON.parse(value));
}
