import {
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { defineBenchmark, startCpuMeter } from '@qls/bench';
import { TestResources, localServerPid } from '@qls/testing';

const MESSAGES = 8_000;
const SENDERS = 4;
const RECEIVERS = 4;
const BODY = JSON.stringify({
  schemaVersion: 1,
  notificationId: '6f1c1c9e-8a53-4c43-9f43-2f1f3b0c8b8e',
  userId: 'user-1',
  channel: 'email',
  template: 'welcome',
  data: { i: 1 },
});
const ATTRIBUTES = { traceparent: { DataType: 'String', StringValue: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' } };

/**
 * Sends MESSAGES through a fresh queue in calls of `batch` messages and
 * receives/deletes them the same way, senders and receivers at once, as the
 * relay and the worker do — with nothing else around them: no database, no
 * handler, no tracing. The CPU it takes (this process's SDK calls, and
 * ElasticMQ's) is the least that one message's trip through SQS can cost here.
 */
async function hop(resources: TestResources, batch: 1 | 10): Promise<Record<string, number>> {
  const sqs = resources.sqs;
  const { url: QueueUrl } = await resources.queue('bench-hop');
  const cpu = startCpuMeter({ 'SDK (sender + receiver)': { pids: [process.pid] }, elasticmq: { pids: [localServerPid('elasticmq')] } });
  const started = performance.now();
  let toSend = MESSAGES;
  let received = 0;
  const sender = async () => {
    while (toSend > 0) {
      const n = Math.min(batch, toSend);
      toSend -= n;
      if (batch === 1) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: BODY, MessageAttributes: ATTRIBUTES }));
      else {
        const Entries = Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: BODY, MessageAttributes: ATTRIBUTES }));
        await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
      }
    }
  };
  const receiver = async () => {
    while (received < MESSAGES) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: batch,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      );
      received += Messages.length;
      if (Messages.length === 0) continue;
      if (batch === 1) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }));
      else {
        const Entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries }));
      }
    }
  };
  await Promise.all([...Array.from({ length: SENDERS }, sender), ...Array.from({ length: RECEIVERS }, receiver)]);
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.stop();
  return {
    'msgs/s': MESSAGES / seconds,
    ...Object.fromEntries(Object.entries(used).map(([name, s]) => [`CPU ms/msg: ${name}`, (s * 1000) / MESSAGES])),
  };
}

/**
 * The SQS hop alone on the local ElasticMQ: what one message's send, receive
 * and delete cost in CPU — in the SDK and in the server — one message per call
 * against batches of 10. With batches it is the floor under every design that
 * moves messages through SQS on this machine (see docs/notes/next-session.md,
 * "notifications: the CPU budget").
 */
export default defineBenchmark<TestResources>({
  name: 'sqs-hop',
  description: `${MESSAGES} messages sent, received and deleted, ${SENDERS} senders and ${RECEIVERS} receivers at once, in this process`,
  rounds: 3,
  headline: { metric: 'CPU ms/msg: machine', higherIsBetter: false },
  setup: async () => new TestResources(),
  teardown: (resources) => resources.cleanup(),
  baseline: { name: 'one message per call', run: (resources) => hop(resources, 1) },
  candidates: [{ name: 'batches of 10', run: (resources) => hop(resources, 10) }],
});
