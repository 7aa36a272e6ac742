/**
 * Redis layout of the feed caches (every service that reads or writes them
 * uses these, so they cannot drift):
 *
 * - `feed:{userId}` — sorted set of post ids pushed to the user, score = the
 *   ranking score (createdAt ms by default), trimmed to the configured length;
 * - `recent:{authorId}` — sorted set of the author's recent post ids (every
 *   author; celebrities are read from it at merge time, follows backfill from it);
 * - `feed-regenerating:{userId}` — set while an inactive user's feed is being
 *   rebuilt on first read.
 *
 * Keys carry a hash tag (`{…}`) so a user's keys share a Redis Cluster slot.
 */
export const RedisKeys = {
  feed: (userId: string) => `feed:{${userId}}`,
  recent: (authorId: string) => `recent:{${authorId}}`,
  regenerating: (userId: string) => `feed-regenerating:{${userId}}`,
} as const;
