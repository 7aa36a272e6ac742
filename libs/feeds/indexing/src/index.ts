export { feedIndexerEnv, indexerProjections } from './lib/indexer.config';
export type { IndexerProjectionName } from './lib/indexer.config';
export { createIndexerMetrics } from './lib/indexer.metrics';
export type { IndexerMetrics } from './lib/indexer.metrics';
export { DEAD_LETTER_GROUP_HEADER, IndexerErrorCode, PostsIndexConsumer } from './lib/posts-index.consumer';
export type { PostsIndexConsumerOptions } from './lib/posts-index.consumer';
export { AnalyticsProjection, SearchProjection, isDataError } from './lib/projections';
export type { PostsProjection, ProjectionWrite } from './lib/projections';
