import { type MessageAttributeValue, type SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { type MessagePublisher, type OutboundMessage, PermanentError, RetriableError, withProducerSpan } from '@qls/messaging';

/** SQS accepts at most 10 entries per batch call and 10 attributes per message. */
export const SQS_BATCH_LIMIT = 10;
const SQS_ATTRIBUTE_LIMIT = 10;
/** Batch calls in flight at once for one publish to a standard queue. */
const CONCURRENT_BATCHES = 8;

/**
 * Publishes with SendMessageBatch (10 per call). Headers become String message
 * attributes, trace context included. On a FIFO queue (`.fifo`) the message key
 * is the MessageGroupId (order per key) and `deduplicationId` the
 * MessageDeduplicationId.
 *
 * A publish of more than 10 messages to a standard queue sends its batch calls
 * up to 8 at a time (a standard queue keeps no order to protect); to a FIFO
 * queue one after the other, so a group's messages arrive in order. When one
 * call fails the publish fails and the caller sends all of it again: the
 * messages of calls that succeeded then arrive twice (at-least-once).
 */
export class SqsPublisher implements MessagePublisher {
  constructor(private readonly client: SQSClient) {}

  async publish(queueUrl: string, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await withProducerSpan('aws_sqs', queueName(queueUrl), messages, async (stamped) => {
      const batches: (readonly OutboundMessage[])[] = [];
      for (let start = 0; start < stamped.length; start += SQS_BATCH_LIMIT) batches.push(stamped.slice(start, start + SQS_BATCH_LIMIT));
      const lanes = queueUrl.endsWith('.fifo') ? 1 : Math.min(CONCURRENT_BATCHES, batches.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (next < batches.length) await this.sendBatch(queueUrl, batches[next++] ?? []);
        }),
      );
    });
  }

  async close(): Promise<void> {
    // The client is shared and owned by the caller.
  }

  private async sendBatch(queueUrl: string, batch: readonly OutboundMessage[]): Promise<void> {
    const fifo = queueUrl.endsWith('.fifo');
    const context = { queueUrl, messageCount: batch.length };
    let result;
    try {
      result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: message.body,
            MessageAttributes: toAttributes(message.headers ?? {}, queueUrl),
            ...(fifo ? fifoFields(message, queueUrl) : {}),
          })),
        }),
      );
    } catch (cause) {
      throw new RetriableError('SQS.PUBLISH_FAILED', `SendMessageBatch to ${queueUrl} failed: ${(cause as Error).message}`, {
        cause,
        context,
      });
    }
    const failed = result.Failed ?? [];
    if (failed.length === 0) return;
    const detail = failed.map((f) => `${f.Id}: ${f.Code} ${f.Message ?? ''}`.trim()).join('; ');
    const message = `SendMessageBatch to ${queueUrl}: ${failed.length} of ${batch.length} entries failed (${detail})`;
    throw failed.some((f) => f.SenderFault)
      ? new PermanentError('SQS.PUBLISH_REJECTED', message, { context: { ...context, failed } })
      : new RetriableError('SQS.PUBLISH_FAILED', message, { context: { ...context, failed } });
  }
}

function toAttributes(headers: Readonly<Record<string, string>>, queueUrl: string): Record<string, MessageAttributeValue> {
  const entries = Object.entries(headers).filter(([, value]) => value !== '');
  if (entries.length > SQS_ATTRIBUTE_LIMIT) {
    throw new PermanentError('SQS.TOO_MANY_ATTRIBUTES', `SQS allows ${SQS_ATTRIBUTE_LIMIT} message attributes, got ${entries.length}`, {
      context: { queueUrl, headers: entries.map(([name]) => name) },
    });
  }
  return Object.fromEntries(entries.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]));
}

function fifoFields(message: OutboundMessage, queueUrl: string): { MessageGroupId: string; MessageDeduplicationId?: string } {
  if (message.key === undefined) {
    throw new PermanentError('SQS.FIFO_KEY_MISSING', 'a message for a FIFO queue needs a key (its MessageGroupId)', {
      context: { queueUrl },
    });
  }
  return {
    MessageGroupId: message.key,
    ...(message.deduplicationId === undefined ? {} : { MessageDeduplicationId: message.deduplicationId }),
  };
}

export function queueName(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}
