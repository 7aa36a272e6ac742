import { defineBenchmark } from '@qls/bench';
import { SqsPublisher } from '@qls/sqs';
import { TestResources } from '@qls/testing';
import {
  BBC_CONSUMER_NAME,
  type ConsumerRunner,
  type ConsumerTarget,
  SQS_CONSUMER_NAME,
  bbcConsumer,
  sqsConsumer,
} from './bench-consumers';

const MESSAGES = 2_000;
const HANDLER_MS = 50;
const BODY = JSON.stringify({ schemaVersion: 1, notificationId: '6f1c1c9e-8a53-4c43-9f43-2f1f3b0c8b8e', channel: 'email' });

/** Drains MESSAGES from a fresh queue with `consumer`; throughput and messages per CPU-second of this process. */
async function measure(resources: TestResources, consumer: (target: ConsumerTarget, handle: () => Promise<void>) => ConsumerRunner) {
  const { url, dlqUrl = '' } = await resources.queue('bench-consumer', { maxReceiveCount: 3 });
  await new SqsPublisher(resources.sqs).publish(
    url,
    Array.from({ length: MESSAGES }, () => ({ body: BODY })),
  );
  let handled = 0;
  let finished!: () => void;
  const allHandled = new Promise<void>((resolve) => (finished = resolve));
  const runner = consumer({ sqs: resources.sqs, queueUrl: url, deadLetterQueueUrl: dlqUrl }, async () => {
    await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
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
 * ElasticMQ server, in this process, with a handler that only waits 50 ms (a
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
  baseline: { name: BBC_CONSUMER_NAME, run: (resources) => measure(resources, bbcConsumer) },
  candidates: [{ name: SQS_CONSUMER_NAME, run: (resources) => measure(resources, sqsConsumer) }],
});
