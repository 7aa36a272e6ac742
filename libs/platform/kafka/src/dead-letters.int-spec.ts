import type { KafkaMessage } from 'kafkajs';
import { Headers, PermanentError } from '@qls/messaging';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { DeadLetterHeaders, KafkaBatchConsumer, KafkaPublisher } from './index';

/** Dead letters of a consumer group on the real local Kafka: what reaches the dead-letter topic, and that it never holds the batch. */
describe('Kafka dead letters (real broker)', () => {
  const resources = new TestResources();
  const publisher = new KafkaPublisher(resources.kafka);
  afterAll(async () => {
    await publisher.close();
    await resources.cleanup();
  });

  async function readAll(topic: string, count: number): Promise<KafkaMessage[]> {
    const seen = new Map<string, KafkaMessage>();
    const consumer = resources.kafka.consumer({ groupId: uniqueName('dlt-reader') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.set(`${partition}/${message.offset}`, message) });
    try {
      await waitFor(() => seen.size >= count, { timeoutMs: 30_000, description: `${count} dead letter(s) on ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    return [...seen.values()];
  }

  it('dead-letters a record byte for byte, and one too large to copy as a reference with its coordinates and an excerpt, without holding the batch', async () => {
    const [topic, deadLetterTopic] = await Promise.all([resources.topic('dl-in', 1), resources.topic('dl-out', 1)]);
    const notUtf8 = {
      key: Buffer.from([0xc3, 0x28]),
      value: Buffer.from([0xff, 0xfe, 0x00, 0x80]),
      headers: { 'x-raw': Buffer.from([0xe2, 0x28, 0xa1]) },
    };
    const huge = Buffer.alloc(1_000_000, 0x80); // under the broker's 1 MiB limit, but not with dead-letter headers on top (nor as text)
    const producer = resources.kafka.producer();
    await producer.connect();
    const offsets: number[] = [];
    for (const messages of [
      [{ value: '{"n":1}' }],
      [notUtf8],
      [{ value: '{"n":2}' }],
      [{ key: 'big', value: huge, headers: { 'x-small': 'kept' } }],
      [{ value: '{"n":3}' }],
    ]) {
      const [meta] = await producer.send({ topic, acks: -1, messages });
      offsets.push(Number(meta?.baseOffset));
    }
    await producer.disconnect();

    const written: number[] = [];
    const consumer = new KafkaBatchConsumer<{ n: number }>({
      kafka: resources.kafka,
      groupId: uniqueName('dl'),
      topic,
      deadLetterTopic,
      deadLetterPublisher: publisher,
      parse: (record) => {
        const text = record.value?.toString() ?? '';
        if (!text.startsWith('{')) throw new PermanentError('TEST.UNREADABLE', 'not JSON');
        return JSON.parse(text) as { n: number };
      },
      write: async (records) => void written.push(...records.map((r) => r.n)),
      maxChunkRecords: 100,
      retry: { initialMs: 50, maxMs: 200 },
    });
    await consumer.start();
    try {
      await waitFor(() => written.length === 3, { timeoutMs: 30_000, description: 'the three good records written' });
      const letters = await readAll(deadLetterTopic, 2);
      const bySource = new Map(letters.map((letter) => [letter.headers?.[Headers.originalSource]?.toString(), letter]));

      const copy = bySource.get(`${topic}/0/${offsets[1]}`);
      expect(copy?.key?.equals(notUtf8.key)).toBe(true);
      expect(copy?.value?.equals(notUtf8.value)).toBe(true);
      expect((copy?.headers?.['x-raw'] as Buffer | undefined)?.equals(notUtf8.headers['x-raw'])).toBe(true);
      expect(copy?.headers?.[Headers.errorCode]?.toString()).toBe('TEST.UNREADABLE');

      const reference = bySource.get(`${topic}/0/${offsets[3]}`);
      expect(reference?.headers?.[DeadLetterHeaders.kind]?.toString()).toBe('reference');
      expect(reference?.headers?.[DeadLetterHeaders.originalValueBytes]?.toString()).toBe('1000000');
      expect(reference?.headers?.['x-small']?.toString()).toBe('kept');
      expect(reference?.key?.toString()).toBe('big');
      expect(reference?.value?.equals(huge.subarray(0, 1_024))).toBe(true);
      expect(written.sort()).toEqual([1, 2, 3]);
    } finally {
      await consumer.stop();
    }
  }, 90_000);
});
