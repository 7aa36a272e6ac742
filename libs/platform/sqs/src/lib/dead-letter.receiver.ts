import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { RetriableError, errorMessage } from '@qls/messaging';
import type { SqsLogger } from './sqs.consumer';
import { SQS_BATCH_LIMIT } from './sqs.publisher';
import { queueDepth } from './sqs.queues';

/**
 * The reads and writes of one dead-letter queue, in SQS batches: receive
 * (holding what it reads for a while), give back, delete. Reading a queue is
 * receiving from it — see {@link DeadLetterQueue} for what that means for a DLQ.
 */
export class DeadLetterReceiver {
  constructor(
    private readonly client: SQSClient,
    readonly queueUrl: string,
    private readonly waitTimeSeconds: number,
    private readonly logger: SqsLogger | undefined,
  ) {}

  /** Visible + in flight (being inspected or redriven) + delayed. */
  async depth(): Promise<number> {
    const { visible, inFlight, delayed } = await queueDepth(this.client, this.queueUrl);
    return visible + inFlight + delayed;
  }

  async receive(max: number, visibilityTimeout: number): Promise<Message[]> {
    try {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: max,
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: this.waitTimeSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return Messages;
    } catch (cause) {
      throw new RetriableError('SQS.RECEIVE_FAILED', `ReceiveMessage from ${this.queueUrl} failed: ${errorMessage(cause)}`, {
        cause,
        context: { queueUrl: this.queueUrl },
      });
    }
  }

  /** Reads up to `max` distinct messages, holding each for `holdSeconds`; stops early at `messageId`. */
  async scan(max: number, holdSeconds: number, messageId?: string): Promise<{ held: Map<string, Message>; match?: Message }> {
    const held = new Map<string, Message>();
    try {
      while (held.size < max) {
        const batch = await this.receive(Math.min(SQS_BATCH_LIMIT, max - held.size), holdSeconds);
        if (batch.length === 0) break;
        // A message seen again (its hold ran out mid-scan) keeps its newest receipt handle.
        for (const message of batch) held.set(message.MessageId ?? '', message);
        const match = messageId === undefined ? undefined : batch.find((message) => message.MessageId === messageId);
        if (match) return { held, match };
      }
      return { held };
    } catch (error) {
      await this.release([...held.values()]);
      throw error;
    }
  }

  /** Makes held messages visible again at once. A failure only means they return when their hold ends. */
  async release(messages: readonly Message[]): Promise<void> {
    await this.batches(messages, 'ChangeMessageVisibilityBatch', (entries) =>
      this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: entries.map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
        }),
      ),
    );
  }

  /** A failed delete leaves the message in the DLQ as well: a later redrive duplicates it, which the worker dedupes. */
  async delete(messages: readonly Message[]): Promise<void> {
    await this.batches(messages, 'DeleteMessageBatch', (entries) =>
      this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
    );
  }

  private async batches(
    messages: readonly Message[],
    action: string,
    send: (entries: { Id: string; ReceiptHandle: string }[]) => Promise<{ Failed?: { Id?: string; Code?: string }[] | undefined }>,
  ): Promise<void> {
    const chunks: Message[][] = [];
    for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) chunks.push(messages.slice(start, start + SQS_BATCH_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const { Failed = [] } = await send(
            chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          );
          if (Failed.length > 0) {
            this.logger?.warn({ queueUrl: this.queueUrl, failed: Failed }, `${action}: some entries failed`);
          }
        } catch (error) {
          this.logger?.warn({ queueUrl: this.queueUrl, err: errorMessage(error) }, `${action} failed`);
        }
      }),
    );
  }
}
