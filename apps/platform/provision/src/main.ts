import { resolve } from 'node:path';
import { Pool } from 'pg';
import { kafkaEnv, kafkaSettings, loadConfigOrExit, postgresEnv, serviceEnv, sqsEnv, z } from '@qls/config';
import { createKafka } from '@qls/kafka';
import { createLogger } from '@qls/observability';
import { DATABASE_APPS, appDatabaseUrlVariable, appRolesFromEnv, provision, readTopology } from '@qls/provisioning';
import { createSqsClient } from '@qls/sqs';

/**
 * One-shot: SQL migrations (as the owner, DATABASE_URL), each app's own
 * Postgres role with its grants (from DATABASE_URL_<APP>: the URL the app is
 * given, whose user and password provision creates), Kafka topics, SQS queues
 * with their DLQs — idempotent. `npm run provision` locally, a service in docker-compose, a Job
 * on Kubernetes. Exits 0 when everything converged, 1 otherwise.
 */
const config = loadConfigOrExit(
  z.object({
    ...serviceEnv,
    ...kafkaEnv,
    ...sqsEnv,
    ...postgresEnv,
    PROVISION_TOPOLOGY_FILE: z.string().default('infra/provision/topology.json'),
    MIGRATIONS_DIR: z.string().default('infra/migrations'),
    ...Object.fromEntries(DATABASE_APPS.map((app) => [appDatabaseUrlVariable(app), postgresEnv.DATABASE_URL.optional()])),
  }),
);
const logger = createLogger({ service: config.SERVICE_NAME ?? 'provision', level: config.LOG_LEVEL });

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 1 });
  const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.AWS_REGION });
  const kafka = createKafka(kafkaSettings(config, 'provision'), logger);
  try {
    const report = await provision(
      { pool, kafka, sqs },
      readTopology(resolve(config.PROVISION_TOPOLOGY_FILE)),
      resolve(config.MIGRATIONS_DIR),
      appRolesFromEnv(config),
    );
    logger.info(report, 'provisioned');
  } finally {
    sqs.destroy();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'provisioning failed');
  process.exit(1);
});
