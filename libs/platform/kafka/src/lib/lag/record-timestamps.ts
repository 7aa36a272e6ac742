import type { Kafka } from 'kafkajs';

/**
 * The parts of kafkajs's internal cluster and broker objects this file uses
 * (kafkajs 2.2.4, src/cluster and src/broker). Not public API: see
 * {@link RecordTimestamps} for why they are used anyway.
 */
interface InternalFetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly isControlRecord?: boolean;
}
interface InternalBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: { partition: number; messages: InternalFetchedMessage[] }[] }[] }>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
}
type CreateCluster = (options: { allowAutoTopicCreation: boolean; metadataMaxAge: number }) => InternalCluster;

const READ_UNCOMMITTED = 0;
/** Per partition; the broker returns at least the whole first record batch even when it is larger (KIP-74). */
const FETCH_MAX_BYTES = 64 * 1024;
/** Batches that only hold records below the offset (compaction, transaction markers) are skipped this many times. */
const MAX_HOPS = 3;
/** Cached timestamps (a record's timestamp never changes); the cache is emptied when full. */
const CACHE_LIMIT = 10_000;

/**
 * Reads the timestamp of the record at an offset: what time lag needs (the age
 * of the oldest unconsumed record) and what the Kafka admin API cannot give.
 *
 * How: one Fetch request for that single partition, from that offset, to the
 * partition leader, through the `Kafka` client's own cluster (same brokers,
 * TLS, SASL). kafkajs has no public call for it — the options were a consumer
 * per read (joins a group: seconds per read, a visible group on the broker), a
 * long-lived paused consumer that seeks and resumes (stateful and racy), or
 * bisecting with ListOffsets by timestamp (wrong: CreateTime timestamps need
 * not grow with offsets, and ListOffsets answers "first offset at or after a
 * time", not "time of an offset"). This is one small request per lagging
 * partition, no group membership, no state; timestamps are cached per offset.
 *
 * It uses kafkajs internals (the client's private cluster factory, Fetch on a
 * broker), pinned to kafkajs 2.x: the constructor fails loudly if they are
 * gone, and the lag integration tests exercise it against the real broker.
 *
 * The timestamp is the record's: CreateTime as the producer set it, or the
 * broker's LogAppendTime for such topics — the same one retention compares
 * with `retention.ms`. Reads are READ_UNCOMMITTED so an open transaction does
 * not hide the record; control records are skipped.
 */
export class RecordTimestamps {
  private readonly createCluster: CreateCluster;
  private cluster: InternalCluster | undefined;
  private connected: Promise<void> | undefined;
  private readonly cache = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(kafka: Kafka) {
    const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
    const factory = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
    if (typeof factory !== 'function') {
      throw new Error(
        'RecordTimestamps needs kafkajs 2.x internals (private:Kafka:createCluster), which this kafkajs version does not have; ' +
          'time lag cannot be measured without them',
      );
    }
    this.createCluster = factory as CreateCluster;
  }

  /**
   * Timestamp (ms) of the first record at or after `offset` in the partition
   * (the record at `offset` itself unless compaction removed it), or null when
   * there is none below the log end.
   */
  async timestampAt(topic: string, partition: number, offset: number): Promise<number | null> {
    const key = `${topic}\u0000${partition}\u0000${offset}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    // One request at a time: kafkajs's cluster is not safe for concurrent
    // metadata refreshes and broker connects (they leak sockets), and each
    // Fetch takes a millisecond or two.
    const fetched = this.queue.then(() => this.fetchTimestamp(topic, partition, offset));
    this.queue = fetched.catch(() => undefined);
    const timestamp = await fetched;
    if (timestamp !== null) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, timestamp);
    }
    return timestamp;
  }

  async close(): Promise<void> {
    await this.queue;
    const cluster = this.cluster;
    this.cluster = undefined;
    this.connected = undefined;
    if (cluster) await cluster.disconnect();
  }

  private async fetchTimestamp(topic: string, partition: number, offset: number): Promise<number | null> {
    const cluster = await this.ready();
    await cluster.addTargetTopic(topic);
    let fetchOffset = offset;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const messages = await this.fetchFrom(cluster, topic, partition, fetchOffset);
      if (messages.length === 0) return null;
      const found = messages.find((m) => Number(m.offset) >= offset && !m.isControlRecord);
      if (found) return Number(found.timestamp);
      fetchOffset = Math.max(...messages.map((m) => Number(m.offset))) + 1;
    }
    return null;
  }

  private async fetchFrom(
    cluster: InternalCluster,
    topic: string,
    partition: number,
    fetchOffset: number,
  ): Promise<InternalFetchedMessage[]> {
    const request = async () => {
      const leaders = cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) throw new Error(`no leader known for ${topic}/${partition}`);
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        isolationLevel: READ_UNCOMMITTED,
        maxWaitTime: 0,
        minBytes: 0,
        maxBytes: FETCH_MAX_BYTES,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(fetchOffset), maxBytes: FETCH_MAX_BYTES }] }],
      });
      return responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition)?.messages ?? [];
    };
    try {
      return await request();
    } catch {
      // Leadership moved or metadata is stale: refresh once and ask the new leader.
      await cluster.refreshMetadata();
      return request();
    }
  }

  private async ready(): Promise<InternalCluster> {
    this.cluster ??= this.createCluster({ allowAutoTopicCreation: false, metadataMaxAge: 300_000 });
    const cluster = this.cluster;
    this.connected ??= cluster.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    await this.connected;
    return cluster;
  }
}
