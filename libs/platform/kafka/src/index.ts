export { createKafka } from './lib/kafka-client';
export type { AdapterLogger } from './lib/kafka-client';
export { KafkaGroupAdmin } from './lib/kafka.admin';
export type { PartitionOffset, ResetPlan } from './lib/kafka.admin';
export { KafkaBatchConsumer } from './lib/kafka.batch-consumer';
export type { BatchWriteContext, KafkaBatchConsumerHooks, KafkaBatchConsumerOptions, KafkaGroupSettings } from './lib/kafka.batch-consumer';
export { ChunkedGroupConsumer, retryInPlace, toInbound } from './lib/kafka.chunked-group';
export type { ChunkContext, ChunkedGroupOptions, RetryInPlaceOptions } from './lib/kafka.chunked-group';
export { KafkaConsumer } from './lib/kafka.consumer';
export type { KafkaConsumerOptions } from './lib/kafka.consumer';
export { KafkaPublisher } from './lib/kafka.publisher';
export type { KafkaPublisherOptions, KafkaRecordPublisher } from './lib/kafka.publisher';
export { LazyConnection } from './lib/lazy-connection';
export { DEFAULT_MAX_BATCH_BYTES, DeadLetterHeaders, chunkByBytes, deadLetterRecord } from './lib/kafka.dead-letters';
export type { DeadLetterOptions } from './lib/kafka.dead-letters';
export { KafkaLagReader } from './lib/lag/lag-reader';
export type { KafkaLagReaderOptions, LagReadResult, LagSource } from './lib/lag/lag-reader';
export { RecordTimestamps } from './lib/lag/record-timestamps';
export { partitionLag } from './lib/lag/lag-snapshot';
export type { GroupLagSnapshot, LagTarget, PartitionLag, PartitionOffsets } from './lib/lag/lag-snapshot';
export { DEFAULT_LAG_RULES, LAG_STATUSES, emptyWindow, evaluateLag, recordSnapshot, windowOf } from './lib/lag/lag-rules';
export type {
  Finding,
  FindingCode,
  HotPartition,
  LagEvaluation,
  LagRuleOptions,
  LagStatus,
  LagWindow,
  PartitionEvaluation,
} from './lib/lag/lag-rules';
export { LagMetrics, countRebalances } from './lib/lag/lag-metrics';
export { LagMonitor, parseLagTargets } from './lib/lag/lag-monitor';
export type { LagMonitorOptions } from './lib/lag/lag-monitor';
export { kafkaTopicsReadiness } from './lib/kafka.readiness';
export { KafkaModule } from './lib/kafka.module';
export type { KafkaModuleOptions } from './lib/kafka.module';
