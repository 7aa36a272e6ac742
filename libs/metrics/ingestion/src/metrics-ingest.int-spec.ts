import type { Admin, Consumer } from 'kafkajs';
import { KafkaPublisher } from '@qls/kafka';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { KafkaGroupLagSource, ProduceBatcher } from './index';

/** The ingest's Kafka pieces against the local broker: the lag it reads, the batches it sends. */
describe('metrics-ingest on the real broker', () => {
  let resources: TestResources;
  let admin: Admin;
  const closers: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    resources = new TestResources();
    admin = resources.kafka.admin();
    await admin.connect();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await admin.disconnect();
    await resources.cleanup();
  });

  const records = (key: string, count: number) => Array.from({ length: count }, (_, i) => ({ key, body: `${key}:${i}` }));

  it('reads a group’s lag as end minus committed offset summed over partitions, not counting partitions it never committed', async () => {
    const topic = await resources.topic('lag', 3);
    const publisher = new KafkaPublisher(resources.kafka);
    closers.push(() => publisher.close());
    const groupId = uniqueName('alerting');
    const source = new KafkaGroupLagSource(resources.kafka, { groupId, topic });
    closers.push(() => source.close());
    await publisher.publish(topic, records('a', 10));

    expect(await source.lag()).toEqual({ messages: 0 }); // no such group yet

    await resources.catchUpGroup(groupId, topic);
    expect(await source.lag()).toEqual({ messages: 0 });
    const before = await admin.fetchTopicOffsets(topic);
    const partitionOfA = before.find((p) => Number(p.high) > 0)?.partition;
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await publisher.publish(topic, records(key, 7));
    const after = await admin.fetchTopicOffsets(topic);
    expect(after.filter((p) => Number(p.high) > 0).length).toBeGreaterThan(1);
    const grown = (partition: number | undefined) =>
      Number(after.find((p) => p.partition === partition)?.high) - Number(before.find((p) => p.partition === partition)?.high);

    // Only the partition the group has committed on counts: the others it has never read.
    expect(await source.lag()).toEqual({ messages: grown(partitionOfA) });
    expect(grown(partitionOfA)).toBeGreaterThanOrEqual(7);

    await resources.catchUpGroup(groupId, topic);
    expect(await source.lag()).toEqual({ messages: 0 });
  });

  it('shares produce requests among concurrent callers and keeps each caller’s records in order on its key’s partition', async () => {
    const topic = await resources.topic('batcher', 4);
    const publisher = new KafkaPublisher(resources.kafka);
    closers.push(() => publisher.close());
    const batches: number[] = [];
    const batcher = new ProduceBatcher({ publisher, topic, lingerMs: 5, onBatch: (n, _s, error) => void (error ?? batches.push(n)) });
    closers.push(() => batcher.close());

    await Promise.all(Array.from({ length: 50 }, (_, caller) => batcher.send(records(`service-${caller % 10}`, 20))));

    expect(batches.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(batches.length).toBeLessThan(10);
    const seen = new Map<string, { partition: number; bodies: string[] }>();
    const consumer: Consumer = resources.kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
    closers.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let total = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        const entry = seen.get(key) ?? { partition, bodies: [] };
        if (entry.partition !== partition) throw new Error(`key ${key} on two partitions`);
        entry.bodies.push(message.value?.toString() ?? '');
        seen.set(key, entry);
        total++;
      },
    });
    await waitFor(() => total === 1_000, { timeoutMs: 20_000, description: 'the 1,000 records' });

    expect(seen.size).toBe(10);
    for (const [key, { bodies }] of seen) {
      // Five callers per key: each caller's 20 records are contiguous and in order.
      const runs = Array.from({ length: 5 }, (_, run) => bodies.slice(run * 20, run * 20 + 20));
      for (const run of runs) expect({ key, run }).toEqual({ key, run: records(key, 20).map((r) => r.body) });
    }
  });
});
