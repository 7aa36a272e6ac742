import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { Headers, PermanentError, RetriableError, errorMessage } from '@qls/messaging';
import { attributeStrings } from './dead-letter.attributes';
import { DeadLetterReceiver } from './dead-letter.receiver';
import { type RedriveOptions, type RedrivePair, type RedriveResult, redriveToSource } from './dead-letter.redrive';
import type { SqsLogger } from './sqs.consumer';
import { SQS_BATCH_LIMIT, queueName } from './sqs.publisher';

/** Options of {@link DeadLetterQueue.open}. */
export interface DeadLetterQueueOptions {
  /** URL of the dead-letter queue. */
  readonly queueUrl: string;
  /** URL of the queue whose RedrivePolicy targets it: redrive sends messages back there. */
  readonly sourceQueueUrl: string;
  /**
   * Characters of the body that {@link DeadLetterQueue.list} returns.
   * @defaultValue 1000
   */
  readonly bodyPreviewChars?: number;
  /**
   * How long `list` and `inspect` hide the messages they read before giving
   * them back with ChangeMessageVisibility 0. Only a crash in between leaves
   * them hidden, and only this long.
   * @defaultValue 10
   */
  readonly holdSeconds?: number;
  /**
   * Long-poll wait of every receive. An empty short poll on SQS does not mean
   * an empty queue (it samples a subset of servers); a long poll asks them all.
   * @defaultValue 1
   */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility timeout of the messages a receive-send-delete redrive holds
   * between the send and the delete.
   * @defaultValue 30
   */
  readonly redriveVisibilitySeconds?: number;
  /**
   * How long `redrive` waits for a move task to end. A task still running
   * then keeps running on the server; `redrive` rejects with
   * `SQS.REDRIVE_TIMEOUT` and the moved count so far.
   * @defaultValue 60000
   */
  readonly moveTaskTimeoutMs?: number;
  /** @defaultValue 250 */
  readonly moveTaskPollMs?: number;
  /**
   * Most messages `inspect` reads looking for an id (SQS cannot fetch a
   * message by id).
   * @defaultValue 1000
   */
  readonly maxScan?: number;
  readonly logger?: SqsLogger;
}

/** The documented defaults of {@link DeadLetterQueueOptions}. */
export const deadLetterDefaults = {
  bodyPreviewChars: 1_000,
  holdSeconds: 10,
  waitTimeSeconds: 1,
  redriveVisibilitySeconds: 30,
  moveTaskTimeoutMs: 60_000,
  moveTaskPollMs: 250,
  maxScan: 1_000,
} as const;

/** What an operator sees of one dead letter. */
export interface DeadLetterMessage {
  /** The SQS MessageId in the DLQ (kept by a move task, new after a receive-send-delete redrive). */
  readonly messageId: string;
  /** The body, cut to `bodyPreviewChars` (see `bodyTruncated`); `inspect` returns it whole. */
  readonly body: string;
  readonly bodyTruncated: boolean;
  /**
   * `x-error-code` / `x-error-reason` written by SqsConsumer for a
   * non-retriable failure. `null` for a message the queue's RedrivePolicy moved
   * after maxReceiveCount retriable failures: SQS records no reason then.
   */
  readonly errorCode: string | null;
  readonly errorReason: string | null;
  /**
   * `x-original-source` (the source queue URL) when the consumer dead-lettered
   * it; otherwise the source queue ARN SQS records on a RedrivePolicy move
   * (`DeadLetterQueueSourceArn`); `null` when neither is known.
   */
  readonly originalSource: string | null;
  /**
   * SQS ApproximateReceiveCount as of this read. It counts every receive,
   * including this one and earlier inspections and age peeks (see
   * {@link DeadLetterQueue}); a RedrivePolicy move carries over the receives
   * in the source queue.
   */
  readonly receiveCount: number;
  /** SentTimestamp, ISO 8601: when it entered the DLQ (a RedrivePolicy move keeps the original send time). */
  readonly sentAt: string;
  readonly ageSeconds: number;
}

/** {@link DeadLetterMessage} with the whole body and every message attribute. */
export interface DeadLetterMessageDetail extends DeadLetterMessage {
  /** Message attributes (String and Number as given, Binary as base64). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** A snapshot for the ops console and the gauges. */
export interface DeadLetterStatus {
  /** DLQ name (the `queue` label of the gauges). */
  readonly queue: string;
  readonly sourceQueue: string;
  /** Visible + in flight + delayed: a message being inspected still counts. */
  readonly depth: number;
  /** Age of the oldest message seen by a peek; 0 when none is visible. */
  readonly oldestAgeSeconds: number;
  /** The alert condition: depth > 0 (every dead letter needs a person). */
  readonly alert: boolean;
}

/**
 * One dead-letter queue and the source queue it serves: depth and age for
 * alerting, listing and inspecting for a person, and redrive back to the
 * source once the cause is fixed.
 *
 * Reading a queue is receiving from it; SQS has no peek. Every read here
 * (`oldestAgeSeconds`, `list`, `inspect`) therefore increments the
 * messages' ApproximateReceiveCount and sets their first-receive time. That is
 * acceptable on a DLQ because a DLQ has no RedrivePolicy of its own — nothing
 * acts on its receive count — but it means `receiveCount` reflects
 * inspections too. Do not point this class at a queue that has a
 * RedrivePolicy: peeks would move its messages on. `oldestAgeSeconds`
 * receives with VisibilityTimeout 0 (nothing is hidden); `list` and `inspect`
 * hide what they read for `holdSeconds` and give it back with
 * ChangeMessageVisibility 0 as soon as they are done.
 *
 * Redrive is at-least-once: receive-send-delete sends first and deletes
 * after, so a crash in between duplicates a message rather than losing it
 * (the worker dedupes by event id).
 */
export class DeadLetterQueue {
  private readonly settings: { readonly [K in keyof typeof deadLetterDefaults]: number };
  private readonly dlq: DeadLetterReceiver;
  private readonly pair: RedrivePair;

  private constructor(
    client: SQSClient,
    private readonly options: DeadLetterQueueOptions,
    arns: { readonly queue: string; readonly source: string },
  ) {
    const d = deadLetterDefaults;
    this.settings = {
      bodyPreviewChars: options.bodyPreviewChars ?? d.bodyPreviewChars,
      holdSeconds: options.holdSeconds ?? d.holdSeconds,
      waitTimeSeconds: options.waitTimeSeconds ?? d.waitTimeSeconds,
      redriveVisibilitySeconds: options.redriveVisibilitySeconds ?? d.redriveVisibilitySeconds,
      moveTaskTimeoutMs: options.moveTaskTimeoutMs ?? d.moveTaskTimeoutMs,
      moveTaskPollMs: options.moveTaskPollMs ?? d.moveTaskPollMs,
      maxScan: options.maxScan ?? d.maxScan,
    };
    this.dlq = new DeadLetterReceiver(client, options.queueUrl, this.settings.waitTimeSeconds, options.logger);
    this.pair = {
      client,
      dlq: this.dlq,
      sourceQueueUrl: options.sourceQueueUrl,
      arns,
      redriveVisibilitySeconds: this.settings.redriveVisibilitySeconds,
      moveTaskTimeoutMs: this.settings.moveTaskTimeoutMs,
      moveTaskPollMs: this.settings.moveTaskPollMs,
      logger: options.logger,
    };
  }

  /**
   * Checks that `sourceQueueUrl`'s RedrivePolicy targets `queueUrl` — a
   * redrive must not send messages to a queue they never came from — and
   * returns the DLQ. Rejects with `SQS.NOT_THE_DEAD_LETTER_QUEUE` naming both
   * queues otherwise.
   */
  static async open(client: SQSClient, options: DeadLetterQueueOptions): Promise<DeadLetterQueue> {
    const [dlq, source] = await Promise.all([
      queueAttributes(client, options.queueUrl, ['QueueArn']),
      queueAttributes(client, options.sourceQueueUrl, ['QueueArn', 'RedrivePolicy']),
    ]);
    const target = parseRedriveTarget(source['RedrivePolicy']);
    const queueArn = dlq['QueueArn'] ?? '';
    if (target !== queueArn) {
      throw new PermanentError(
        'SQS.NOT_THE_DEAD_LETTER_QUEUE',
        `${queueName(options.sourceQueueUrl)} dead-letters to ${target ?? 'nowhere (it has no RedrivePolicy)'}, ` +
          `not to ${queueName(options.queueUrl)} (${queueArn})`,
        { context: { queueUrl: options.queueUrl, sourceQueueUrl: options.sourceQueueUrl } },
      );
    }
    return new DeadLetterQueue(client, options, { queue: queueArn, source: source['QueueArn'] ?? '' });
  }

  /** DLQ name. */
  get name(): string {
    return queueName(this.options.queueUrl);
  }

  /** Messages in the DLQ: visible + in flight (being inspected or redriven) + delayed. */
  async depth(): Promise<number> {
    return this.dlq.depth();
  }

  /**
   * Age of the oldest of up to 10 peeked messages, from their SentTimestamp
   * (SQS has no age-of-oldest attribute outside CloudWatch). Exact for a small
   * DLQ — the normal case, as any dead letter alerts — and a lower bound for
   * a large one. 0 when no message is visible. Peeking counts as a receive
   * (see the class comment).
   */
  async oldestAgeSeconds(): Promise<number> {
    const messages = await this.dlq.receive(SQS_BATCH_LIMIT, 0);
    const now = Date.now();
    return messages.reduce((oldest, message) => Math.max(oldest, ageSeconds(message, now)), 0);
  }

  /** Depth, oldest age and the alert condition; skips the peek when the DLQ is empty. */
  async status(): Promise<DeadLetterStatus> {
    const depth = await this.depth();
    return {
      queue: this.name,
      sourceQueue: queueName(this.options.sourceQueueUrl),
      depth,
      oldestAgeSeconds: depth > 0 ? await this.oldestAgeSeconds() : 0,
      alert: depth > 0,
    };
  }

  /**
   * Up to `limit` dead letters, oldest first, bodies cut to
   * `bodyPreviewChars`. Nothing is deleted, and every message read is visible
   * again when this resolves.
   */
  async list(limit = 10): Promise<DeadLetterMessage[]> {
    const { held } = await this.dlq.scan(limit, this.settings.holdSeconds);
    try {
      const now = Date.now();
      return [...held.values()]
        .map((message) => describe(message, now, this.settings.bodyPreviewChars))
        .sort((a, b) => a.sentAt.localeCompare(b.sentAt));
    } finally {
      await this.dlq.release([...held.values()]);
    }
  }

  /**
   * One dead letter with its whole body and every attribute, or `undefined`
   * when no message with that id is among the first `maxScan` (SQS cannot
   * fetch by id, so this reads the queue until it finds it).
   */
  async inspect(messageId: string): Promise<DeadLetterMessageDetail | undefined> {
    const { held, match } = await this.dlq.scan(this.settings.maxScan, this.settings.holdSeconds, messageId);
    try {
      if (match === undefined) return undefined;
      return { ...describe(match, Date.now(), Infinity), attributes: attributeStrings(match) };
    } finally {
      await this.dlq.release([...held.values()]);
    }
  }

  /**
   * Sends dead letters back to the source queue (see {@link RedriveOptions}).
   * Rejects with `SQS.REDRIVE_INVALID` for `maxMessages` with `move-task` or a
   * `maxMessages` that is not a positive integer, `SQS.MOVE_TASK_UNSUPPORTED`
   * when `move-task` was asked of a server without it, `SQS.MOVE_TASK_FAILED`
   * and `SQS.REDRIVE_TIMEOUT` (the task keeps running) for a move task, and
   * `SQS.REDRIVE_SEND_FAILED` when receive-send-delete could not send (the
   * messages it held are back in the DLQ; `context.moved` says how many went
   * before).
   */
  async redrive(options: RedriveOptions = {}): Promise<RedriveResult> {
    return redriveToSource(this.pair, options);
  }
}

async function queueAttributes(
  client: SQSClient,
  queueUrl: string,
  names: ('QueueArn' | 'RedrivePolicy')[],
): Promise<Record<string, string>> {
  try {
    const { Attributes = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }));
    return Attributes;
  } catch (cause) {
    throw new RetriableError('SQS.QUEUE_ATTRIBUTES_FAILED', `GetQueueAttributes of ${queueUrl} failed: ${errorMessage(cause)}`, {
      cause,
      context: { queueUrl },
    });
  }
}

function parseRedriveTarget(policy: string | undefined): string | undefined {
  if (!policy) return undefined;
  try {
    const target = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof target === 'string' ? target : undefined;
  } catch {
    return undefined;
  }
}

function ageSeconds(message: Message, now: number): number {
  const sent = Number(message.Attributes?.['SentTimestamp'] ?? now);
  return Math.max(0, (now - sent) / 1000);
}

function describe(message: Message, now: number, previewChars: number): DeadLetterMessage {
  const body = message.Body ?? '';
  const attributes = message.MessageAttributes ?? {};
  const text = (name: string): string | null => attributes[name]?.StringValue ?? null;
  return {
    messageId: message.MessageId ?? '',
    body: body.length > previewChars ? body.slice(0, previewChars) : body,
    bodyTruncated: body.length > previewChars,
    errorCode: text(Headers.errorCode),
    errorReason: text(Headers.errorReason),
    originalSource: text(Headers.originalSource) ?? message.Attributes?.['DeadLetterQueueSourceArn'] ?? null,
    receiveCount: Number(message.Attributes?.['ApproximateReceiveCount'] ?? 0),
    sentAt: new Date(Number(message.Attributes?.['SentTimestamp'] ?? now)).toISOString(),
    ageSeconds: ageSeconds(message, now),
  };
}
