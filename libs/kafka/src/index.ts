export { createKafka } from './lib/kafka-client';
export type { AdapterLogger } from './lib/kafka-client';
export { KafkaGroupAdmin } from './lib/kafka.admin';
export type { PartitionOffset, ResetPlan } from './lib/kafka.admin';
export { KafkaConsumer } from './lib/kafka.consumer';
export type { KafkaConsumerOptions } from './lib/kafka.consumer';
export { KafkaPublisher } from './lib/kafka.publisher';
export type { KafkaPublisherOptions } from './lib/kafka.publisher';
