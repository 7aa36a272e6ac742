export { createSqsClient } from './lib/sqs-client';
export type { SqsSettings } from './lib/sqs-client';
export { SqsConsumer } from './lib/sqs.consumer';
export type { SqsConsumerOptions, SqsLogger } from './lib/sqs.consumer';
export { SQS_BATCH_LIMIT, SqsPublisher, queueName } from './lib/sqs.publisher';
export { queueDepth, queueUrlOf, queueUrlResolver } from './lib/sqs.queues';
export type { QueueDepth } from './lib/sqs.queues';
export { DeadLetterQueue, createDeadLetterMetrics, deadLetterDefaults } from './lib/dead-letter';
export type {
  DeadLetterMessage,
  DeadLetterMessageDetail,
  DeadLetterMetrics,
  DeadLetterQueueOptions,
  DeadLetterStatus,
  RedriveMethod,
  RedriveOptions,
  RedriveResult,
} from './lib/dead-letter';
