import type { Message } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { defineBenchmark } from '@qls/bench';
import { TestResources } from '@qls/testing';
import { SqsConsumer } from './lib/sqs.consumer';
import { SqsPublisher } from './lib/sqs.publisher';

const MESSAGES = 2_000;
const HANDLER_MS = 50;

interface Runner {
  start(): void;
  stop(): Promise<void>;
}

const handle = () => new Promise<void>((resolve) => setTimeout(resolve, HANDLER_MS));

/** Drains MESSAGES from a fresh queue with `makeRunner`; throughput and messages per CPU-second of this process. */
async function measure(resources: TestResources, makeRunner: (queueUrl: string, dlqUrl: string, done: () => void) => Runner) {
  const { url, dlqUrl } = await resources.queue('bench-consumer', { maxReceiveCount: 3 });
  const publisher = new SqsPublisher(resources.sqs);
  const body = JSON.stringify({ schemaVersion: 1, notificationId: '6f1c1c9e-8a53-4c43-9f43-2f1f3b0c8b8e', channel: 'email' });
  await publisher.publish(
    url,
    Array.from({ length: MESSAGES }, () => ({ body })),
  );
  let handled = 0;
  let finished!: () => void;
  const allHandled = new Promise<void>((resolve) => (finished = resolve));
  const runner = makeRunner(url, dlqUrl ?? '', () => {
    if (++handled === MESSAGES) finished();
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  runner.start();
  await allHandled;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await runner.stop();
  return { 'msgs/s': MESSAGES / seconds, 'msgs per CPU-s': MESSAGES / ((used.user + used.system) / 1e6) };
}

/**
 * The consumers alone: bbc/sqs-consumer against SqsConsumer on the same
 * ElasticMQ queue, in this process, with a handler that only waits 50 ms (a
 * provider's latency) — what each consumer costs per message without the
 * notification handler's Redis and Postgres work, which `worker-throughput`
 * adds to both.
 */
export default defineBenchmark<TestResources>({
  name: 'sqs-consumer',
  description: `${MESSAGES} queued messages, a handler that waits ${HANDLER_MS} ms, one consumer in this process`,
  rounds: 3,
  headline: { metric: 'msgs per CPU-s', higherIsBetter: true },
  setup: async () => new TestResources(),
  teardown: (resources) => resources.cleanup(),
  baseline: {
    name: 'bbc/sqs-consumer (batch 10)',
    run: (resources) =>
      measure(resources, (queueUrl, _dlq, done) => {
        const consumer = Consumer.create({
          queueUrl,
          sqs: resources.sqs,
          batchSize: 10,
          waitTimeSeconds: 1,
          messageAttributeNames: ['All'],
          messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          handleMessage: async (message: Message) => {
            await handle();
            done();
            return message;
          },
        });
        return {
          start: () => consumer.start(),
          stop: async () => {
            const stopped = new Promise((resolve) => consumer.once('stopped', resolve));
            consumer.stop();
            await stopped;
          },
        };
      }),
  },
  candidates: [
    {
      name: 'SqsConsumer (pool of 100, 2 receivers)',
      run: (resources) =>
        measure(resources, (queueUrl, deadLetterQueueUrl, done) => {
          const consumer = new SqsConsumer(resources.sqs, {
            queueUrl,
            deadLetterQueueUrl,
            concurrency: 100,
            receivers: 2,
            waitTimeSeconds: 1,
          });
          return {
            start: () =>
              void consumer.start(async () => {
                await handle();
                done();
              }),
            stop: () => consumer.stop(),
          };
        }),
    },
  ],
});
