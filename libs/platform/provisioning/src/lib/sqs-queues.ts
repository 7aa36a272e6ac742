import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type SQSClient,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { QueueSpec } from './topology';

export type QueueChange = { queue: string; action: 'created' | 'attributes-updated' | 'unchanged'; url: string };

/** Dead-letter queues keep messages for the longest time SQS allows, for inspection and redrive. */
const DLQ_RETENTION_SECONDS = 1_209_600;

/**
 * Converges each queue and its DLQ (`<name>-dlq`, created first) to the spec,
 * with a RedrivePolicy moving a message to the DLQ after `maxReceiveCount`
 * receives. Existing queues get their attributes set in place, so changing the
 * topology and re-running is how a visibility timeout or redrive count changes.
 */
export async function provisionQueues(sqs: SQSClient, specs: readonly QueueSpec[]): Promise<QueueChange[]> {
  const changes: QueueChange[] = [];
  for (const spec of specs) {
    const fifo = spec.fifo ?? spec.name.endsWith('.fifo');
    const base: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(spec.retentionSeconds),
    };
    if (spec.deadLetter) {
      const dlqName = fifo ? `${spec.name.replace(/\.fifo$/, '')}-dlq.fifo` : `${spec.name}-dlq`;
      const dlq = await ensureQueue(sqs, dlqName, base, { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) });
      changes.push(dlq);
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ['QueueArn'] }));
      attributes['RedrivePolicy'] = JSON.stringify({
        deadLetterTargetArn: Attributes?.['QueueArn'],
        maxReceiveCount: spec.deadLetter.maxReceiveCount,
      });
    }
    changes.push(await ensureQueue(sqs, fifo && !spec.name.endsWith('.fifo') ? `${spec.name}.fifo` : spec.name, base, attributes));
  }
  return changes;
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  createOnly: Record<string, string>,
  attributes: Record<string, string>,
): Promise<QueueChange> {
  const url = await queueUrl(sqs, name);
  if (url === undefined) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...createOnly, ...attributes } }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    return { queue: name, action: 'created', url: QueueUrl };
  }
  const { Attributes: reported = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  const current: Record<string, string | undefined> = reported;
  // Attributes a server does not report (ElasticMQ omits MessageRetentionPeriod)
  // cannot be compared; they are set when the queue is created.
  const differs = Object.entries(attributes).filter(
    ([key, value]) => current[key] !== undefined && !sameAttribute(key, current[key], value),
  );
  if (differs.length === 0) return { queue: name, action: 'unchanged', url };
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: Object.fromEntries(differs) }));
  return { queue: name, action: 'attributes-updated', url };
}

function sameAttribute(key: string, current: string, wanted: string): boolean {
  if (key !== 'RedrivePolicy') return current === wanted;
  const [a, b] = [JSON.parse(current) as Record<string, unknown>, JSON.parse(wanted) as Record<string, unknown>];
  return a['deadLetterTargetArn'] === b['deadLetterTargetArn'] && Number(a['maxReceiveCount']) === Number(b['maxReceiveCount']);
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (error instanceof QueueDoesNotExist || (error as { name?: string }).name === 'AWS.SimpleQueueService.NonExistentQueue')
      return undefined;
    throw error;
  }
}
