import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueDepth {
  /** Messages available for retrieval. */
  readonly visible: number;
  /** Received but not yet deleted or timed out. */
  readonly inFlight: number;
  readonly delayed: number;
}

/**
 * Approximate depth from GetQueueAttributes. SQS has no age-of-oldest
 * attribute (that is a CloudWatch metric): consumers derive age from each
 * message's SentTimestamp ({@link InboundMessage.timestamp}) instead.
 */
export async function queueDepth(client: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export async function queueUrlOf(client: SQSClient, queueName: string): Promise<string> {
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: queueName }));
  if (!QueueUrl) throw new Error(`queue ${queueName} has no URL`);
  return QueueUrl;
}

/** `queueUrlOf` with a cache: queue URLs do not change while a queue exists. Failures are not cached. */
export function queueUrlResolver(client: SQSClient): (queueName: string) => Promise<string> {
  const urls = new Map<string, string>();
  return async (queueName) => {
    const cached = urls.get(queueName);
    if (cached !== undefined) return cached;
    const url = await queueUrlOf(client, queueName);
    urls.set(queueName, url);
    return url;
  };
}

/**
 * Keeps a worker's queue-depth gauges current: hands `read()` to `onDepth`
 * now and every `intervalMs` (a failed read is skipped: the gauges keep their
 * last values). Resolves once the first read is in, to the function that stops it.
 */
export async function watchQueueDepth(
  read: () => Promise<QueueDepth>,
  onDepth: (depth: QueueDepth) => void,
  intervalMs = 5_000,
): Promise<() => void> {
  const refresh = async () => {
    const depth = await read().catch(() => undefined);
    if (depth) onDepth(depth);
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  await refresh();
  return () => clearInterval(timer);
}
