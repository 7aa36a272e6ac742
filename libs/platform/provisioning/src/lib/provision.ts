import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { type AppRole, type RoleChange, provisionAppRoles } from './database-roles';
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
  readonly roles: RoleChange[];
  readonly topics: TopicChange[];
  readonly queues: QueueChange[];
}

/**
 * Migrations, then each app's own Postgres role and grants (`roles`, see
 * database-roles.ts), then topics, then queues. Idempotent: a second run changes nothing.
 */
export async function provision(
  targets: ProvisionTargets,
  topology: Topology,
  migrationsDir: string,
  roles: readonly AppRole[] = [],
): Promise<ProvisionReport> {
  const migrations = await migrate(targets.pool, readMigrations(migrationsDir));
  const roleChanges = await provisionAppRoles(targets.pool, roles);
  const admin = targets.kafka.admin();
  await admin.connect();
  try {
    const topics = await provisionTopics(admin, topology.topics);
    const queues = await provisionQueues(targets.sqs, topology.queues);
    return { migrations, roles: roleChanges, topics, queues };
  } finally {
    await admin.disconnect();
  }
}
