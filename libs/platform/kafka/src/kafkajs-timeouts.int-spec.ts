import { spawn } from 'node:child_process';
import { TestResources, uniqueName } from '@qls/testing';

/**
 * kafkajs 2.2.4's request queue schedules its pending-request check with a delay of
 * `throttledUntil - Date.now()`, and `throttledUntil` starts at -1: Node 24 warns
 * (TimeoutNegativeWarning) in every process that talks to a broker. tools/patch-deps.mjs
 * clamps that delay at its source; this runs a real client in a process of its own, because a
 * process warns once and jest's own process has long since used it up.
 */
describe('kafkajs under Node 24', () => {
  let resources: TestResources;

  beforeEach(() => (resources = new TestResources()));
  afterEach(() => resources.cleanup());

  it('a process that produces and consumes through kafkajs and exits prints no TimeoutNegativeWarning', async () => {
    const topic = await resources.topic('kafkajs-timeouts');
    const script = `
      const { Kafka, logLevel } = require('kafkajs');
      (async () => {
        const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'timeouts-probe', logLevel: logLevel.NOTHING });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: 'one' }] });
        const consumer = kafka.consumer({ groupId: ${JSON.stringify(uniqueName('timeouts-probe'))} });
        await consumer.connect();
        await consumer.subscribe({ topics: [${JSON.stringify(topic)}], fromBeginning: true });
        await new Promise((resolve) => consumer.run({ eachMessage: async () => resolve() }));
        await consumer.disconnect();
        await producer.disconnect();
        console.log('consumed');
      })().catch((error) => { console.error(error); process.exit(1); });
    `;
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: 'consumed' });
    expect(stderr).not.toContain('TimeoutNegativeWarning');
  });
});
