import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { type MigrationResult, migrate, readMigrations } from './migrations';
import { type QueueChange, provisionQueues } from './sqs-queues';
import { type TopicChange, provisionTopics } from './kafka-topics';
import type { Topology } from './topology';

export interface ProvisionTargets {
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly sqs: SQSClient;
}

export interface ProvisionReport {
  readonly migrations: MigrationResult;
  readonly topics: TopicChange[];
  readonly queues: QueueChange[];
}

/** Migrations, then topics, then queues. Idempotent: a second run changes nothing. */
export async function provision(targets: ProvisionTargets, topology: Topology, migrationsDir: string): Promise<ProvisionReport> {
  const migrations = await migrate(targets.pool, readMigrations(migrationsDir));
  const admin = targets.kafka.admin();
  await admin.connect();
  try {
    const topics = await provisionTopics(admin, topology.topics);
    const queues = await provisionQueues(targets.sqs, topology.queues);
    return { migrations, topics, queues };
  } finally {
    await admin.disconnect();
  }
}
