/**
 * A relay in its own process for the crash test: `tsx relay.process.ts <json>`.
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
  readonly batchSize: number;
  readonly killAfterBatches: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pool = new Pool({ connectionString: args.databaseUrl, options: `-c search_path=${args.schema}` });
const publisher = new KafkaPublisher(new Kafka({ clientId: 'relay-process', brokers: args.brokers, logLevel: logLevel.ERROR }));
let batches = 0;
const relay = new OutboxRelay({
  pool,
  publishers: { kafka: publisher },
  concurrency: 1,
  batchSize: args.batchSize,
  bucketsPerClaim: 64,
  afterPublish: () => {
    if (++batches >= args.killAfterBatches) process.kill(process.pid, 'SIGKILL');
  },
});
void relay.start();
