import { FEED_EVENT_TYPES, type FeedEvent } from '@qls/feed-contracts';
import type { OutboxEvent } from '@qls/outbox';

/**
 * Outbox aggregate of every event on `posts`: the user whose key it carries
 * (the author of a post, the followee of a follow). The relay publishes one
 * aggregate's events in the order they were written, and Kafka keeps one
 * key's records in order on one partition, so a user's posts, deletions and
 * new followers reach every consumer group in the order they happened.
 */
export const FEED_AGGREGATE_TYPE = 'feed-user';

/** Where the API's events go: the `posts` topic (a test's own topic in tests). */
export interface FeedOutboxOptions {
  readonly postsTopic: string;
}

/** The outbox row of a feed event, keyed by the author (posts) or the followee (follows). */
export function feedOutboxEvent(options: FeedOutboxOptions, event: FeedEvent): OutboxEvent {
  const key = event.type === 'PostCreated' || event.type === 'PostDeleted' ? event.authorId : event.followeeId;
  return {
    aggregateType: FEED_AGGREGATE_TYPE,
    aggregateId: key,
    key,
    eventType: FEED_EVENT_TYPES[event.type],
    payload: event,
    destination: { kafka: options.postsTopic },
  };
}
