/** A post as the ranking sees it. */
export interface RankedPost {
  readonly postId: string;
  readonly authorId: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/**
 * The feed score of a post: higher is shown first. The one pluggable piece of
 * the feed (chapter: "might need to replay if ranking algorithm changes") —
 * changing it means rebuilding the caches (apps/feeds/fanout rebuild-cli).
 */
export type Ranking = (post: { postId: string; authorId: string; createdAt: number }) => number;

/** Newest first: the score is the creation time (epoch ms). */
export const recency: Ranking = (post) => post.createdAt;
