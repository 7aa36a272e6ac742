import { type Ranking, recency } from './ranking';

/**
 * The rankings a deployment can choose by name (FEED_RANKING): the fan-out
 * consumer scores new posts with it and the rebuild command re-scores every
 * cached feed with it. Adding one here and rebuilding is how the ranking changes.
 */
export const rankings = { recency } as const satisfies Record<string, Ranking>;
export type RankingName = keyof typeof rankings;
export const rankingNames = Object.keys(rankings) as [RankingName, ...RankingName[]];
