import { defineBenchmark } from '@qls/bench';
import { TestResources } from '@qls/testing';
import { KafkaPublisher } from './index';

const MESSAGES = 5_000;
const BATCH = 500;

const body = JSON.stringify({ serviceId: 'checkout', name: 'latency_ms', value: 12.5, timestamp: 0, labels: { region: 'eu' } });
const messages = Array.from({ length: MESSAGES }, (_, i) => ({ key: `service-${i % 50}`, body }));

/**
 * Why producers batch: one awaited send per record (a round trip with acks=all
 * each) against KafkaPublisher sending batches of 500 — same idempotent
 * producer, same topic, same records.
 */
export default defineBenchmark({
  name: 'kafka-publish',
  description: `${MESSAGES} records to a 6-partition topic, acks=all, idempotent producer`,
  headline: { metric: 'msgs/s', higherIsBetter: true },
  async setup() {
    const resources = new TestResources();
    const topic = await resources.topic('bench-publish', 6);
    const publisher = new KafkaPublisher(resources.kafka);
    await publisher.publish(topic, messages.slice(0, 10)); // connect and warm up
    return { resources, topic, publisher };
  },
  async teardown({ resources, publisher }) {
    await publisher.close();
    await resources.cleanup();
  },
  baseline: {
    name: 'one send per record',
    async run({ topic, publisher }) {
      const started = performance.now();
      for (const message of messages) await publisher.publish(topic, [message]);
      return { 'msgs/s': MESSAGES / ((performance.now() - started) / 1000) };
    },
  },
  candidates: [
    {
      name: `batches of ${BATCH}`,
      async run({ topic, publisher }) {
        const started = performance.now();
        for (let i = 0; i < MESSAGES; i += BATCH) await publisher.publish(topic, messages.slice(i, i + BATCH));
        return { 'msgs/s': MESSAGES / ((performance.now() - started) / 1000) };
      },
    },
  ],
});
