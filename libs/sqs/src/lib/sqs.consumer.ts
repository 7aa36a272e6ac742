import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type BackoffOptions,
  Headers,
  type InboundMessage,
  type MessageConsumer,
  type MessageHandler,
  RetriableError,
  backoffDelay,
  errorCode,
  errorMessage,
  isRetriable,
  withConsumerSpan,
} from '@qls/messaging';
import { SQS_BATCH_LIMIT, SqsPublisher } from './sqs.publisher';

/** Structured logger shape (pino-compatible). */
export interface SqsLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SqsConsumerOptions {
  readonly queueUrl: string;
  /** Where messages whose handler threw a non-retriable error go, with the reason as attributes. */
  readonly deadLetterQueueUrl: string;
  /**
   * Handlers running at once. Receives ask only for free slots, so a slow
   * message holds one slot, never a whole batch (no head-of-line blocking),
   * and nothing sits received-but-unstarted when the consumer stops.
   * @defaultValue 10
   */
  readonly concurrency?: number;
  /** @defaultValue 20 (long polling: empty receives cost nothing and return at once when a message arrives) */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility timeout the heartbeat keeps renewing while a handler runs.
   * @defaultValue 30
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Longest a handler may hold a message by heartbeating; after that the
   * heartbeat stops and SQS redelivers it to someone else.
   * @defaultValue 900 (15 minutes)
   */
  readonly maxProcessingSeconds?: number;
  /**
   * Redelivery delay after a retriable failure, by receive count, set with
   * ChangeMessageVisibility. The queue's RedrivePolicy moves the message to its
   * DLQ after maxReceiveCount receives.
   * @defaultValue `{ initialMs: 1_000, maxMs: 300_000 }`
   */
  readonly retry?: BackoffOptions;
  readonly logger?: SqsLogger;
}

const defaultRetry: BackoffOptions = { initialMs: 1_000, maxMs: 300_000 };
const DELETE_FLUSH_MS = 50;

/**
 * A competing consumer on one queue implementing the port's ack contract:
 * delete (batched) only after the handler resolved; retriable failure →
 * backoff via ChangeMessageVisibility; non-retriable → sent to the DLQ with the
 * reason, then deleted. `stop()` stops receiving, lets in-flight handlers
 * finish and flushes pending deletes. It waits for the long poll in progress
 * (up to `waitTimeSeconds`) rather than aborting it — an aborted poll can still
 * take messages on the server, which would then stay invisible for their
 * visibility timeout — and gives whatever that last poll returned back at once.
 */
export class SqsConsumer implements MessageConsumer {
  private readonly deadLetters: SqsPublisher;
  private readonly inFlight = new Set<Promise<void>>();
  private pendingDeletes: { id: string; receiptHandle: string }[] = [];
  private deleteTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private stopping = false;

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsConsumerOptions,
  ) {
    this.deadLetters = new SqsPublisher(client);
  }

  async start(handler: MessageHandler): Promise<void> {
    this.stopping = false;
    this.loop = this.pollLoop(handler);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.slotFreed?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await this.flushDeletes();
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 10;
  }

  private async pollLoop(handler: MessageHandler): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      const messages = await this.receive(Math.min(SQS_BATCH_LIMIT, free));
      if (this.stopping) {
        // Received after stop() was called: not started, so give them back at once.
        await this.release(messages);
        break;
      }
      for (const group of inOrderGroups(messages)) {
        const task = this.processInOrder(group, handler).finally(() => {
          this.inFlight.delete(task);
          this.slotFreed?.();
        });
        this.inFlight.add(task);
      }
    }
  }

  private async receive(max: number): Promise<Message[]> {
    try {
      const result = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
          VisibilityTimeout: this.options.visibilityTimeoutSeconds ?? 30,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId'],
        }),
      );
      return result.Messages ?? [];
    } catch (error) {
      if (this.stopping) return [];
      this.options.logger?.warn({ queueUrl: this.options.queueUrl, err: errorMessage(error) }, 'ReceiveMessage failed; retrying');
      await sleep(1_000);
      return [];
    }
  }

  /**
   * A FIFO receive can return several messages of one MessageGroupId, in
   * order: they run one after another, and after one that is not acknowledged
   * the rest are given back — SQS hands them out again, in order, once the
   * failed one is done. Messages without a group run alone.
   */
  private async processInOrder(group: readonly Message[], handler: MessageHandler): Promise<void> {
    // Messages waiting for their turn keep their visibility too.
    const waiting = group.map((message) => this.heartbeat(message.ReceiptHandle ?? ''));
    for (const [index, message] of group.entries()) {
      waiting[index]?.();
      if (!(await this.process(message, handler))) {
        // Give the rest back now: the group stays locked behind the failed message
        // (SQS FIFO), and resumes in order as soon as that one is visible again.
        waiting.slice(index + 1).forEach((stop) => stop());
        await this.release(group.slice(index + 1));
        return;
      }
    }
  }

  /** Handles one message; true when it was acknowledged (handled or dead-lettered). */
  private async process(message: Message, handler: MessageHandler): Promise<boolean> {
    const inbound = toInbound(message, this.options.queueUrl);
    const receiptHandle = message.ReceiptHandle ?? '';
    const stopHeartbeat = this.heartbeat(receiptHandle);
    try {
      await withConsumerSpan(inbound, () => handler(inbound));
      this.scheduleDelete(inbound.id, receiptHandle);
      return true;
    } catch (error) {
      return await this.onFailure(inbound, receiptHandle, error);
    } finally {
      stopHeartbeat();
    }
  }

  /** True when the message was dead-lettered (acknowledged), false when it will be redelivered. */
  private async onFailure(message: InboundMessage, receiptHandle: string, error: unknown): Promise<boolean> {
    const log = {
      queueUrl: this.options.queueUrl,
      messageId: message.id,
      attempt: message.attempt,
      code: errorCode(error),
      err: errorMessage(error),
    };
    try {
      if (isRetriable(error)) {
        const delayMs =
          error instanceof RetriableError && error.retryAfterMs !== undefined
            ? error.retryAfterMs
            : backoffDelay(message.attempt, this.options.retry ?? defaultRetry);
        this.options.logger?.warn({ ...log, delayMs }, 'handler failed with a retriable error; message will be redelivered');
        await this.changeVisibility(receiptHandle, Math.ceil(delayMs / 1000));
        return false;
      }
      this.options.logger?.error(log, 'handler failed with a non-retriable error; moving the message to the DLQ');
      await this.deadLetters.publish(this.options.deadLetterQueueUrl, [
        {
          ...(message.key === undefined ? {} : { key: message.key }),
          body: message.body,
          headers: {
            ...message.headers,
            [Headers.errorCode]: errorCode(error),
            [Headers.errorReason]: errorMessage(error).slice(0, 1_000),
            [Headers.originalSource]: this.options.queueUrl,
          },
        },
      ]);
      this.scheduleDelete(message.id, receiptHandle);
      return true;
    } catch (secondary) {
      // Leave the message alone: its visibility timeout brings it back.
      this.options.logger?.error(
        { ...log, secondary: errorMessage(secondary) },
        'could not record the failure; message will be redelivered',
      );
      return false;
    }
  }

  /** Makes messages visible again now (visibility 0), for messages this consumer will not handle. */
  private async release(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    await this.client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: messages.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })),
        }),
      )
      .catch((error: unknown) =>
        this.options.logger?.warn(
          { queueUrl: this.options.queueUrl, err: errorMessage(error) },
          'could not release unstarted messages; they return after their visibility timeout',
        ),
      );
  }

  /** Keeps the message invisible while its handler runs, up to maxProcessingSeconds. */
  private heartbeat(receiptHandle: string): () => void {
    const visibility = this.options.visibilityTimeoutSeconds ?? 30;
    const deadline = Date.now() + (this.options.maxProcessingSeconds ?? 900) * 1000;
    const timer = setInterval(
      () => {
        if (Date.now() + visibility * 1000 > deadline) return clearInterval(timer);
        this.changeVisibility(receiptHandle, visibility).catch((error: unknown) =>
          this.options.logger?.warn({ queueUrl: this.options.queueUrl, err: errorMessage(error) }, 'visibility heartbeat failed'),
        );
      },
      (visibility * 1000) / 3,
    );
    return () => clearInterval(timer);
  }

  private async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(seconds, 43_200),
      }),
    );
  }

  private scheduleDelete(id: string, receiptHandle: string): void {
    this.pendingDeletes.push({ id, receiptHandle });
    if (this.pendingDeletes.length >= SQS_BATCH_LIMIT) void this.flushDeletes();
    else this.deleteTimer ??= setTimeout(() => void this.flushDeletes(), DELETE_FLUSH_MS);
  }

  private async flushDeletes(): Promise<void> {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    while (this.pendingDeletes.length > 0) {
      const batch = this.pendingDeletes.splice(0, SQS_BATCH_LIMIT);
      try {
        const result = await this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: batch.map(({ receiptHandle }, index) => ({ Id: String(index), ReceiptHandle: receiptHandle })),
          }),
        );
        if (result.Failed?.length) {
          this.options.logger?.warn(
            { queueUrl: this.options.queueUrl, failed: result.Failed },
            'some deletes failed; those messages will be redelivered',
          );
        }
      } catch (error) {
        // A lost delete means a redelivery, which handlers tolerate (at-least-once).
        this.options.logger?.warn(
          { queueUrl: this.options.queueUrl, err: errorMessage(error) },
          'DeleteMessageBatch failed; messages will be redelivered',
        );
      }
    }
  }
}

/** Messages grouped by MessageGroupId, keeping receive order; a message without a group is a group of its own. */
function inOrderGroups(messages: readonly Message[]): Message[][] {
  const groups = new Map<string, Message[]>();
  const alone: Message[][] = [];
  for (const message of messages) {
    const id = message.Attributes?.MessageGroupId;
    if (id === undefined) {
      alone.push([message]);
      continue;
    }
    const group = groups.get(id);
    if (group) group.push(message);
    else groups.set(id, [message]);
  }
  return [...alone, ...groups.values()];
}

function toInbound(message: Message, queueUrl: string): InboundMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) headers[name] = value.StringValue;
  }
  return {
    id: message.MessageId ?? '',
    key: message.Attributes?.MessageGroupId,
    body: message.Body ?? '',
    headers,
    attempt: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    timestamp: Number(message.Attributes?.SentTimestamp ?? Date.now()),
    source: { system: 'sqs', queueUrl },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
