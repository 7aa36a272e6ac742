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
import { deadLetterHeaders } from './dead-letter.attributes';
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
   * and nothing sits received-but-unstarted when the consumer stops. A busy
   * pool waits for a batch's worth of free slots (10, or half a smaller pool)
   * before it receives again.
   * @defaultValue 10
   */
  readonly concurrency?: number;
  /**
   * Receive loops running at once. One loop makes a round trip per 10
   * messages, which caps a worker at 10 / (receive latency) messages/s —
   * ~1,000/s at 10 ms; more loops lift that cap for a busy queue.
   * @defaultValue 1
   */
  readonly receivers?: number;
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
  /**
   * The queue's RedrivePolicy maxReceiveCount. A FIFO message retried in place
   * (see `processInOrder`) goes to the DLQ itself when its attempts reach it.
   * An application that counts its own failures (the notification worker)
   * dead-letters before it; this is then the safety net.
   * @defaultValue 3
   */
  readonly maxReceiveCount?: number;
  /**
   * Called once a message's DLQ copy is published (before its delete), with
   * the error that sent it there: the application records that it is dead-lettered,
   * and why. A failure is logged; the copy is in the DLQ either way.
   */
  readonly onDeadLettered?: (message: InboundMessage, error: unknown) => Promise<void>;
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
  /** Messages received (or being received) and not finished: what the pool holds. */
  private busy = 0;
  /** Receive loops waiting for a free slot. */
  private readonly pollers = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsConsumerOptions,
  ) {
    this.deadLetters = new SqsPublisher(client);
  }

  async start(handler: MessageHandler): Promise<void> {
    this.stopping = false;
    this.loop = Promise.all(Array.from({ length: this.options.receivers ?? 1 }, () => this.pollLoop(handler))).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakePollers();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await this.flushDeletes();
  }

  private get maxReceiveCount(): number {
    return this.options.maxReceiveCount ?? 3;
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 10;
  }

  /**
   * Fewest free slots worth a receive: a full batch, or half the pool when the
   * pool is smaller than two batches. A busy pool frees its slots one by one;
   * receiving for each of them would make a receive (and, with it, a delete
   * batch) per message or two, and those calls are most of a consumer's CPU
   * (`npm run bench -- sqs-consumer`). Waiting for a batch's worth of slots
   * costs a saturated pool a few percent of its occupancy — its messages wait
   * in the queue either way — and an idle pool nothing.
   */
  private get minReceive(): number {
    return Math.min(SQS_BATCH_LIMIT, Math.ceil(this.concurrency / 2));
  }

  /**
   * One receive loop. Before each receive it reserves the free slots it asks
   * for, so parallel loops never take more messages than the pool can run.
   */
  private async pollLoop(handler: MessageHandler): Promise<void> {
    while (!this.stopping) {
      const wanted = Math.min(SQS_BATCH_LIMIT, this.concurrency - this.busy);
      if (wanted < this.minReceive) {
        await new Promise<void>((resolve) => this.pollers.add(resolve));
        continue;
      }
      this.busy += wanted;
      const messages = await this.receive(wanted);
      this.busy -= wanted - messages.length;
      if (this.stopping) {
        // Received after stop() was called: not started, so give them back at once.
        await this.release(messages);
        this.busy -= messages.length;
        break;
      }
      if (messages.length < wanted) this.wakePollers();
      for (const group of inOrderGroups(messages)) {
        const task = this.processInOrder(group, handler).finally(() => {
          this.busy -= group.length;
          this.inFlight.delete(task);
          this.wakePollers();
        });
        this.inFlight.add(task);
      }
    }
  }

  private wakePollers(): void {
    for (const wake of this.pollers) wake();
    this.pollers.clear();
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
   * order: they run one after another. When one fails retriably while later
   * ones of its group are held, it is retried here after its backoff, keeping
   * the whole group invisible — giving the rest back would cost each of them a
   * receive (SQS counts every receive toward the RedrivePolicy) and could
   * dead-letter a message that was never tried. Its retries count as receives:
   * at `maxReceiveCount` it goes to the DLQ with the reason, and the group
   * moves on. Messages without a group run alone, as a group of one.
   */
  private async processInOrder(group: readonly Message[], handler: MessageHandler): Promise<void> {
    // Every message of the group keeps its visibility until it is done.
    const heartbeats = group.map((message) => this.heartbeat(message.ReceiptHandle ?? ''));
    try {
      for (const [index, message] of group.entries()) {
        const held = group.slice(index + 1);
        if (!(await this.processHolding(message, held.length > 0, handler))) {
          await this.release(held);
          return;
        }
        heartbeats[index]?.();
      }
    } finally {
      heartbeats.forEach((stop) => stop());
    }
  }

  /** Handles one message; true when it was acknowledged (handled or dead-lettered). */
  private async processHolding(message: Message, holding: boolean, handler: MessageHandler): Promise<boolean> {
    let inbound = toInbound(message, this.options.queueUrl);
    const receiptHandle = message.ReceiptHandle ?? '';
    for (;;) {
      try {
        await withConsumerSpan(inbound, () => handler(inbound));
        this.scheduleDelete(inbound.id, receiptHandle);
        return true;
      } catch (error) {
        if (!isRetriable(error)) return await this.deadLetter(inbound, receiptHandle, error);
        const delayMs = retryDelay(error, inbound.attempt, this.options.retry ?? defaultRetry);
        const log = { queueUrl: this.options.queueUrl, messageId: inbound.id, attempt: inbound.attempt, code: errorCode(error) };
        if (!holding) {
          this.options.logger?.warn(
            { ...log, err: errorMessage(error), delayMs },
            'handler failed with a retriable error; message will be redelivered',
          );
          await this.delay(receiptHandle, delayMs);
          return false;
        }
        if (inbound.attempt >= this.maxReceiveCount) return await this.deadLetter(inbound, receiptHandle, error);
        this.options.logger?.warn(
          { ...log, err: errorMessage(error), delayMs },
          'handler failed with a retriable error; retrying in place, its group waits',
        );
        if (!(await this.pause(delayMs))) {
          // Stopping: the message comes back after the rest of its delay, the group after it.
          await this.delay(receiptHandle, delayMs);
          return false;
        }
        inbound = { ...inbound, attempt: inbound.attempt + 1 };
      }
    }
  }

  /** Sends the message to the DLQ with the reason and deletes it; false when that failed (it is redelivered). */
  private async deadLetter(message: InboundMessage, receiptHandle: string, error: unknown): Promise<boolean> {
    const log = {
      queueUrl: this.options.queueUrl,
      messageId: message.id,
      attempt: message.attempt,
      code: errorCode(error),
      err: errorMessage(error),
    };
    try {
      this.options.logger?.error(log, 'handler failed for the last time; moving the message to the DLQ');
      await this.deadLetters.publish(this.options.deadLetterQueueUrl, [
        {
          ...(message.key === undefined ? {} : { key: message.key }),
          deduplicationId: message.id,
          body: message.body,
          headers: deadLetterHeaders(message.headers, {
            [Headers.errorCode]: errorCode(error),
            [Headers.errorReason]: errorMessage(error).slice(0, 1_000),
            [Headers.originalSource]: this.options.queueUrl,
          }),
        },
      ]);
      await this.options
        .onDeadLettered?.(message, error)
        .catch((secondary: unknown) =>
          this.options.logger?.error({ ...log, secondary: errorMessage(secondary) }, 'dead-lettered, but could not record it'),
        );
      this.scheduleDelete(message.id, receiptHandle);
      return true;
    } catch (secondary) {
      // Leave the message alone: its visibility timeout brings it back.
      this.options.logger?.error({ ...log, secondary: errorMessage(secondary) }, 'could not dead-letter; message will be redelivered');
      return false;
    }
  }

  /** Redelivery after `ms`; if that call fails, the visibility timeout brings the message back instead. */
  private async delay(receiptHandle: string, ms: number): Promise<void> {
    await this.changeVisibility(receiptHandle, Math.ceil(ms / 1000)).catch((error: unknown) =>
      this.options.logger?.warn({ queueUrl: this.options.queueUrl, err: errorMessage(error) }, 'could not set the retry delay'),
    );
  }

  /** Waits `ms`, or less when the consumer stops; true when the whole wait passed. */
  private async pause(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) await sleep(Math.min(250, until - Date.now()));
    return !this.stopping;
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

function retryDelay(error: unknown, attempt: number, retry: BackoffOptions): number {
  return error instanceof RetriableError && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffDelay(attempt, retry);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
