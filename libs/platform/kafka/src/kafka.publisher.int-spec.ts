import { Kafka, logLevel } from 'kafkajs';
import { isRetriable } from '@qls/messaging';
import { TestResources, pauseServer, uniqueName, waitFor } from '@qls/testing';
import { KafkaPublisher } from './index';

/**
 * An idempotent producer numbers its records per partition. A send that times
 * out leaves that numbering uncertain (the broker may still write it), which
 * is where kafkajs producers used by several callers at once fall out of step
 * with the broker for good (OUT_OF_ORDER_SEQUENCE_NUMBER on every later send).
 */
describe('KafkaPublisher when the broker stalls (real broker)', () => {
  let resources: TestResources;
  let publisher: KafkaPublisher;

  beforeEach(() => {
    resources = new TestResources();
    const kafka = new Kafka({
      clientId: uniqueName('stall'),
      brokers: resources.env.KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
      requestTimeout: 1_000,
      retry: { initialRetryTime: 100, retries: 2 },
    });
    // Sends time out after 1 s instead of 30, so a 6 s stall outlasts a send and its two retries.
    publisher = new KafkaPublisher(kafka, { timeoutMs: 1_000 });
  });

  afterEach(async () => {
    await publisher.close();
    await resources.cleanup();
  });

  it('keeps every acknowledged record, and publishes again once the broker is back, after sends from several callers timed out', async () => {
    const topic = await resources.topic('stall', 6);
    const acknowledged: string[] = [];
    const failures: Error[] = [];
    let publishing = true;
    // Four callers, as the relay's claim loops are: each retries its batch until it is acknowledged.
    const caller = async (name: number) => {
      for (let batch = 0; publishing; batch++) {
        const ids = Array.from({ length: 1 + ((batch * 37 + name * 11) % 300) }, (_, i) => `${name}-${batch}-${i}`);
        const messages = ids.map((id, i) => ({ key: `key-${(batch * 7 + i) % 50}`, body: id }));
        for (;;) {
          try {
            await publisher.publish(topic, messages);
            acknowledged.push(...ids);
            break;
          } catch (error) {
            failures.push(error as Error);
            if (!publishing) return;
          }
        }
      }
    };
    const callers = [0, 1, 2, 3].map(caller);
    try {
      await waitFor(() => acknowledged.length >= 5_000, { timeoutMs: 30_000, description: '5,000 records acknowledged before the stall' });
      await pauseServer('kafka', 6_000);
      const afterStall = acknowledged.length;
      await waitFor(() => acknowledged.length >= afterStall + 5_000, {
        timeoutMs: 30_000,
        description: () =>
          `5,000 more records acknowledged after the stall (${failures.length} failed sends, the last: ${failures.at(-1)?.message})`,
      });
    } finally {
      publishing = false;
      await Promise.all(callers);
    }
    // The stall was felt, and every failure was one to retry: none rejected the
    // records for good, none came from the producer's numbering.
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((e) => !isRetriable(e) || /sequence number/i.test(e.message)).map((e) => e.message)).toEqual([]);

    const inTopic = new Set<string>();
    const consumer = resources.kafka.consumer({ groupId: uniqueName('verify') });
    await consumer.connect();
    resources.onCleanup(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void inTopic.add(String(message.value)) });
    await waitFor(() => acknowledged.every((id) => inTopic.has(id)), {
      timeoutMs: 30_000,
      description: () =>
        `every acknowledged record in the topic (${acknowledged.filter((id) => !inTopic.has(id)).length} of ${acknowledged.length} missing)`,
    });
  }, 120_000);

  it('finishes the sends queued before close, and refuses later ones as retriable', async () => {
    const topic = await resources.topic('close', 1);
    const queued = [1, 2, 3].map((n) => publisher.publish(topic, [{ key: 'k', body: `queued-${n}` }]));
    await publisher.close();
    await expect(Promise.all(queued)).resolves.toEqual([undefined, undefined, undefined]);

    const late = publisher.publish(topic, [{ key: 'k', body: 'late' }]);
    await expect(late).rejects.toMatchObject({ code: 'KAFKA.PUBLISHER_CLOSED' });
    expect(isRetriable(await late.catch((error: unknown) => error))).toBe(true);
  });
});
