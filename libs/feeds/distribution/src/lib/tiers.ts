/**
 * How a post reaches its author's followers, by follower count (chapter
 * "Celebrity Handling"; docs/adr/0009-three-tier-fan-out.md):
 * - `direct`: the fan-out consumer writes it into each follower's feed itself;
 * - `queued`: the consumer splits the followers into SQS tasks that competing workers apply;
 * - `pull`: nobody's feed is written; readers merge the author's recent posts.
 */
export type FanOutTier = 'direct' | 'queued' | 'pull';

export const FAN_OUT_TIERS: readonly FanOutTier[] = ['direct', 'queued', 'pull'];

export interface FanOutThresholds {
  /** Authors with fewer followers are fanned out directly. @defaultValue 1_000 */
  readonly directBelow: number;
  /** Authors with at least this many followers are pulled at read time. @defaultValue 100_000 */
  readonly celebrityAt: number;
}

export const defaultThresholds: FanOutThresholds = { directBelow: 1_000, celebrityAt: 100_000 };

/** Checks thresholds: non-negative integers, `directBelow ≤ celebrityAt` (equal: no queued tier). */
export function checkThresholds(thresholds: FanOutThresholds): FanOutThresholds {
  const { directBelow, celebrityAt } = thresholds;
  if (!Number.isInteger(directBelow) || directBelow < 0) throw new RangeError(`directBelow: expected an integer ≥ 0, got ${directBelow}`);
  if (!Number.isInteger(celebrityAt) || celebrityAt < 0) throw new RangeError(`celebrityAt: expected an integer ≥ 0, got ${celebrityAt}`);
  if (directBelow > celebrityAt) throw new RangeError(`directBelow (${directBelow}) must not exceed celebrityAt (${celebrityAt})`);
  return thresholds;
}

export function tierOf(followerCount: number, thresholds: FanOutThresholds = defaultThresholds): FanOutTier {
  if (followerCount >= thresholds.celebrityAt) return 'pull';
  if (followerCount < thresholds.directBelow) return 'direct';
  return 'queued';
}
