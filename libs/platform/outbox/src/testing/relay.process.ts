/**
 * A relay in its own process, as deployed: `tsx relay.process.ts <json>`.
 * SIGTERM stops it gracefully (in-flight batches are published and marked).
 * With `killAfterBatches: n` it SIGKILLs itself right after the broker
 * acknowledged its n-th batch and before that batch is marked published — the
 * window where at-least-once delivery must republish, not lose.
 */
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { KafkaPublisher } from '@qls/kafka';
import { OutboxRelay } from '../index';

interface Args {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly brokers: string[];
  readonly batchSize?: number;
  readonly concurrency?: number;
  readonly bucketsPerClaim?: number;
  readonly killAfterBatches?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pool = new Pool({ connectionString: args.databaseUrl, options: `-c search_path=${args.schema}` });
const publisher = new KafkaPublisher(new Kafka({ clientId: 'relay-process', brokers: args.brokers, logLevel: logLevel.ERROR }));
let batches = 0;
const { killAfterBatches } = args;
const relay = new OutboxRelay({
  pool,
  publishers: { kafka: publisher },
  concurrency: args.concurrency ?? 1,
  ...(args.batchSize === undefined ? {} : { batchSize: args.batchSize }),
  ...(args.bucketsPerClaim === undefined ? {} : { bucketsPerClaim: args.bucketsPerClaim }),
  ...(killAfterBatches === undefined
    ? {}
    : {
        afterPublish: () => {
          if (++batches >= killAfterBatches) process.kill(process.pid, 'SIGKILL');
        },
      }),
});
void relay.start();
process.once('SIGTERM', () => {
  void relay
    .stop()
    .then(() => publisher.close())
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
