/**
 * An AlerterRunner in a process of its own, so a test can SIGKILL it
 * mid-stream. argv[2] is JSON: { databaseUrl, schema, brokers, groupId, topic,
 * alertsTopic, lateTopic, deadLetterTopic, checkpointIntervalMs }.
 */
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { KafkaPublisher } from '@qls/kafka';
import { AlerterRunner } from '../lib/alerter.runner';
import { scenarioOptions } from './scenario';

const args = JSON.parse(process.argv[2] ?? '{}') as Record<string, string> & {
  brokers: string[];
  checkpointIntervalMs: number;
  sessionTimeoutMs: number;
};
const pool = new Pool({ connectionString: args.databaseUrl, max: 4, options: `-c search_path=${args.schema}` });
const kafka = new Kafka({ clientId: 'alerter-process', brokers: args.brokers, logLevel: logLevel.ERROR });
const runner = new AlerterRunner({
  kafka,
  pool,
  groupId: args.groupId,
  topic: args.topic,
  alertsTopic: args.alertsTopic,
  lateTopic: args.lateTopic,
  deadLetterTopic: args.deadLetterTopic,
  alerter: scenarioOptions,
  publisher: new KafkaPublisher(kafka),
  checkpointIntervalMs: args.checkpointIntervalMs,
  sessionTimeoutMs: args.sessionTimeoutMs,
  fromBeginning: true,
});
void runner.start().then(() => process.stdout.write('started\n'));
