/**
 * An AlerterRunner in a process of its own, so a test can SIGKILL it
 * mid-stream. argv[2] is JSON: { databaseUrl, schema, brokers, groupId, topic,
 * alertsTopic, lateTopic, deadLetterTopic, checkpointIntervalMs, sessionTimeoutMs, alerter? }.
 * ALERTER_PROCESS_LOG=1 logs the runner's assignments, restores and fences to
 * stderr as JSON lines (how the lab's zombie-member bug was found).
 */
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { type AdapterLogger, KafkaPublisher } from '@qls/kafka';
import type { AlerterOptions } from '@qls/metrics-windowing';
import { AlerterRunner } from '../lib/alerter.runner';
import { scenarioOptions } from './scenario';

const args = JSON.parse(process.argv[2] ?? '{}') as Record<string, string> & {
  brokers: string[];
  checkpointIntervalMs: number;
  sessionTimeoutMs: number;
  alerter?: Omit<AlerterOptions, 'idleTimeoutMs'> & { idleTimeoutMs: number | null };
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
  // Options of the caller's own (JSON: an idleTimeoutMs of null means none), else the scenarios'.
  alerter: args.alerter ? { ...args.alerter, idleTimeoutMs: args.alerter.idleTimeoutMs ?? Number.POSITIVE_INFINITY } : scenarioOptions,
  publisher: new KafkaPublisher(kafka),
  checkpointIntervalMs: args.checkpointIntervalMs,
  sessionTimeoutMs: args.sessionTimeoutMs,
  fromBeginning: true,
  ...(process.env['ALERTER_PROCESS_LOG']
    ? {
        logger: Object.fromEntries(
          ['debug', 'info', 'warn', 'error'].map((level) => [
            level,
            (obj: object, msg: string) =>
              process.stderr.write(`${JSON.stringify({ t: Date.now(), pid: process.pid, level, msg, ...obj })}\n`),
          ]),
        ) as unknown as AdapterLogger,
      }
    : {}),
});
void runner.start().then(() => process.stdout.write('started\n'));
