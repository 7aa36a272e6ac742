import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import type { InboundMessage, MessageHandler } from '@qls/messaging';
import { SqsConsumer } from '@qls/sqs';

/**
 * The two consumers the benchmarks compare (`worker-throughput`,
 * `sqs-consumer`), set up once so that both benchmarks run them alike.
 */
export interface ConsumerRunner {
  start(): void;
  stop(): Promise<void>;
}

export interface ConsumerTarget {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

export const SQS_CONSUMER_NAME = 'SqsConsumer (pool of 100, 2 receivers)';
export const BBC_CONSUMER_NAME = 'bbc/sqs-consumer (batch 10)';

/** This project's consumer: a pool of 100 sends not tied to the batch, two receive loops. */
export function sqsConsumer({ sqs, queueUrl, deadLetterQueueUrl }: ConsumerTarget, handle: MessageHandler): ConsumerRunner {
  const consumer = new SqsConsumer(sqs, { queueUrl, deadLetterQueueUrl, concurrency: 100, receivers: 2, waitTimeSeconds: 1 });
  return { start: () => void consumer.start(handle), stop: () => consumer.stop() };
}

/** bbc/sqs-consumer with its usual setup: batches of 10, each batch finished before the next receive. */
export function bbcConsumer({ sqs, queueUrl }: ConsumerTarget, handle: MessageHandler): ConsumerRunner {
  const consumer = Consumer.create({
    queueUrl,
    sqs,
    batchSize: 10,
    waitTimeSeconds: 1,
    messageAttributeNames: ['All'],
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    handleMessage: async (message: Message) => {
      await handle(toInbound(message, queueUrl));
      return message;
    },
  });
  return {
    start: () => consumer.start(),
    stop: async () => {
      // Without abort: an aborted long poll can still take messages on the server (the next round would wait out their visibility).
      const stopped = new Promise((resolve) => consumer.once('stopped', resolve));
      consumer.stop();
      await stopped;
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // its last 1 s poll
    },
  };
}

function toInbound(message: Message, queueUrl: string): InboundMessage {
  return {
    id: message.MessageId ?? '',
    key: undefined,
    body: message.Body ?? '',
    headers: {},
    attempt: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    timestamp: Number(message.Attributes?.SentTimestamp ?? Date.now()),
    source: { system: 'sqs', queueUrl },
  };
}
