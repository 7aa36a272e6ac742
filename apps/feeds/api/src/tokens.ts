import type { FeedReader } from '@qls/feed-service';
import { typedToken } from '@qls/observability';

export const OUTBOX_OPTIONS = Symbol('OUTBOX_OPTIONS');
export const FEED_READER = typedToken<FeedReader>('FEED_READER');
export const API_METRICS = Symbol('API_METRICS');
export const API_LIMITS = Symbol('API_LIMITS');
