import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchResult,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { AppError, Headers, PermanentError, RetriableError, errorMessage } from '@qls/messaging';
import type { MetricsRegistry } from '@qls/observability';
import type { SqsLogger } from './sqs.consumer';
import { SQS_BATCH_LIMIT, queueName } from './sqs.publisher';
import { queueDepth } from './sqs.queues';

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

export type RedriveMethod = 'move-task' | 'receive-send-delete';

export interface RedriveOptions {
  /**
   * `move-task`: StartMessageMoveTask (server side, keeps MessageIds and every
   * attribute, moves every message). `receive-send-delete`: client side,
   * works on any SQS-compatible server, can stop after `maxMessages`, drops
   * the dead-letter attributes. `auto`: the move task unless `maxMessages` is
   * set or the server does not implement it.
   * @defaultValue 'auto'
   */
  readonly method?: 'auto' | RedriveMethod;
  /** At most this many (receive-send-delete only: a move task cannot be limited). */
  readonly maxMessages?: number;
}

export interface RedriveResult {
  readonly moved: number;
  readonly method: RedriveMethod;
}

/**
 * The attribute that carries a dead letter's own attributes, as one JSON
 * object of strings, when they and the reason would not fit in SQS's 10
 * message attributes (see {@link deadLetterHeaders}).
 */
export const FOLDED_ATTRIBUTES = 'x-original-attributes';

/**
 * Attributes that describe the failure, not the message: dropped when a
 * message goes back to its source, so a later failure records its own.
 */
const DEAD_LETTER_ATTRIBUTES: ReadonlySet<string> = new Set([
  Headers.errorCode,
  Headers.errorReason,
  Headers.originalSource,
  Headers.failedAt,
  FOLDED_ATTRIBUTES,
]);

/** SQS's limit of message attributes per message. */
const SQS_ATTRIBUTE_LIMIT = 10;
/** Trace context stays a plain attribute (tracing reads it); the publisher adds it when absent. */
const TRACE_HEADERS: readonly string[] = [Headers.traceparent, Headers.tracestate];

/**
 * The headers of a dead-letter copy: its reason (`failure`: code, reason,
 * source) always, whatever the message carried. The message's own headers
 * (`headers`, minus the annotations of an earlier dead-lettering, unfolded)
 * go along as they are when everything fits in SQS's 10 attributes — trace
 * context counted at two, since the publisher adds it — and otherwise, but
 * for the trace context, as one JSON attribute {@link FOLDED_ATTRIBUTES},
 * which a redrive unfolds. So a message with SQS's maximum of 10 attributes
 * is dead-lettered with its reason, not refused for 13.
 */
export function deadLetterHeaders(
  headers: Readonly<Record<string, string>>,
  failure: Readonly<Record<string, string>>,
): Record<string, string> {
  const own = ownHeaders(headers);
  const traced = TRACE_HEADERS.filter((name) => own[name] !== undefined);
  const needed = Object.keys(own).length - traced.length + TRACE_HEADERS.length + Object.keys(failure).length;
  if (needed <= SQS_ATTRIBUTE_LIMIT) return { ...own, ...failure };
  const folded = Object.fromEntries(Object.entries(own).filter(([name]) => !TRACE_HEADERS.includes(name)));
  return {
    ...Object.fromEntries(traced.map((name) => [name, own[name] ?? ''])),
    [FOLDED_ATTRIBUTES]: JSON.stringify(folded),
    ...failure,
  };
}

/** A message's own headers: the folded ones unfolded, the dead-letter annotations dropped. */
function ownHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const folded = headers[FOLDED_ATTRIBUTES];
  return Object.fromEntries(
    Object.entries({ ...headers, ...(folded === undefined ? {} : unfold(folded)) }).filter(
      ([name]) => !DEAD_LETTER_ATTRIBUTES.has(name) && !name.startsWith('x-error-'),
    ),
  );
}

/** The folded attributes; none when the value is not the JSON object of strings {@link deadLetterHeaders} writes. */
function unfold(value: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/**
 * Error names with which SQS-compatible servers say they do not implement an
 * action: SQS's own for an unsupported request, the JSON protocol's unknown
 * operation, and what older emulators answer.
 */
const UNSUPPORTED_ERRORS: ReadonlySet<string> = new Set([
  'UnsupportedOperation',
  'AWS.SimpleQueueService.UnsupportedOperation',
  'UnknownOperationException',
  'InvalidAction',
  'NotImplemented',
  'NotImplementedException',
]);

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

  private constructor(
    private readonly client: SQSClient,
    private readonly options: DeadLetterQueueOptions,
    private readonly arns: { readonly queue: string; readonly source: string },
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
    const { visible, inFlight, delayed } = await queueDepth(this.client, this.options.queueUrl);
    return visible + inFlight + delayed;
  }

  /**
   * Age of the oldest of up to 10 peeked messages, from their SentTimestamp
   * (SQS has no age-of-oldest attribute outside CloudWatch). Exact for a small
   * DLQ — the normal case, as any dead letter alerts — and a lower bound for
   * a large one. 0 when no message is visible. Peeking counts as a receive
   * (see the class comment).
   */
  async oldestAgeSeconds(): Promise<number> {
    const messages = await this.receive(SQS_BATCH_LIMIT, 0);
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
    const { held } = await this.scan(limit);
    try {
      const now = Date.now();
      return [...held.values()]
        .map((message) => describe(message, now, this.settings.bodyPreviewChars))
        .sort((a, b) => a.sentAt.localeCompare(b.sentAt));
    } finally {
      await this.release([...held.values()]);
    }
  }

  /**
   * One dead letter with its whole body and every attribute, or `undefined`
   * when no message with that id is among the first `maxScan` (SQS cannot
   * fetch by id, so this reads the queue until it finds it).
   */
  async inspect(messageId: string): Promise<DeadLetterMessageDetail | undefined> {
    const { held, match } = await this.scan(this.settings.maxScan, messageId);
    try {
      if (match === undefined) return undefined;
      return { ...describe(match, Date.now(), Infinity), attributes: attributeStrings(match) };
    } finally {
      await this.release([...held.values()]);
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
    const method = options.method ?? 'auto';
    const { maxMessages } = options;
    if (maxMessages !== undefined && !(Number.isInteger(maxMessages) && maxMessages > 0)) {
      throw new PermanentError('SQS.REDRIVE_INVALID', `maxMessages: expected a positive integer, got ${maxMessages}`);
    }
    if (method === 'move-task' && maxMessages !== undefined) {
      throw new PermanentError(
        'SQS.REDRIVE_INVALID',
        'maxMessages: a move task moves every message and cannot be limited; use method "receive-send-delete" (or "auto")',
      );
    }
    if (method === 'receive-send-delete' || maxMessages !== undefined) return this.receiveSendDelete(maxMessages);
    try {
      return await this.moveTask();
    } catch (error) {
      if (method === 'auto' && error instanceof AppError && error.code === 'SQS.MOVE_TASK_UNSUPPORTED') {
        this.options.logger?.warn(
          { queueUrl: this.options.queueUrl, err: errorMessage(error.cause) },
          'the server has no message move tasks; redriving by receive-send-delete',
        );
        return this.receiveSendDelete(undefined);
      }
      throw error;
    }
  }

  private async moveTask(): Promise<RedriveResult> {
    const context = { queueUrl: this.options.queueUrl, sourceQueueUrl: this.options.sourceQueueUrl };
    const startedAt = Date.now();
    let handle: string | undefined;
    try {
      ({ TaskHandle: handle } = await this.client.send(
        new StartMessageMoveTaskCommand({ SourceArn: this.arns.queue, DestinationArn: this.arns.source }),
      ));
    } catch (cause) {
      if (isUnsupported(cause)) {
        throw new PermanentError(
          'SQS.MOVE_TASK_UNSUPPORTED',
          `the SQS server does not implement StartMessageMoveTask: ${errorMessage(cause)}`,
          {
            cause,
            context,
          },
        );
      }
      throw new RetriableError('SQS.MOVE_TASK_START_FAILED', `StartMessageMoveTask from ${this.name} failed: ${errorMessage(cause)}`, {
        cause,
        context,
      });
    }
    const deadline = startedAt + this.settings.moveTaskTimeoutMs;
    for (;;) {
      const { Results = [] } = await this.client.send(new ListMessageMoveTasksCommand({ SourceArn: this.arns.queue, MaxResults: 10 }));
      const task = findTask(Results, handle);
      const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
      const status = task?.Status ?? 'UNKNOWN';
      if (status === 'COMPLETED') return { moved, method: 'move-task' };
      if (status === 'FAILED' || status === 'CANCELLED' || status === 'CANCELLING') {
        throw new PermanentError(
          'SQS.MOVE_TASK_FAILED',
          `move task ${handle ?? ''} from ${this.name} ended ${status} after moving ${moved}: ${task?.FailureReason ?? 'no reason given'}`,
          { context: { ...context, taskHandle: handle, moved } },
        );
      }
      if (Date.now() >= deadline) {
        throw new RetriableError(
          'SQS.REDRIVE_TIMEOUT',
          `move task ${handle ?? ''} from ${this.name} is still ${status} after ${this.settings.moveTaskTimeoutMs} ms ` +
            `(${moved} moved so far); it keeps running on the server`,
          { context: { ...context, taskHandle: handle, moved } },
        );
      }
      await sleep(this.settings.moveTaskPollMs);
    }
  }

  /**
   * Without `maxMessages`, stops after as many messages as the DLQ held when it
   * started: a message that fails again at once and comes back is not cycled
   * forever.
   */
  private async receiveSendDelete(maxMessages: number | undefined): Promise<RedriveResult> {
    const limit = maxMessages ?? (await this.depth());
    let moved = 0;
    while (moved < limit) {
      const batch = await this.receive(Math.min(SQS_BATCH_LIMIT, limit - moved), this.settings.redriveVisibilitySeconds);
      if (batch.length === 0) break;
      const { sent, failed } = await this.sendToSource(batch, moved);
      // Delete only what the source queue acknowledged: after the send, so a crash duplicates instead of losing.
      await this.delete(sent);
      moved += sent.length;
      if (failed.length > 0) {
        await this.release(failed.map(({ message }) => message));
        const detail = failed.map(({ message, code }) => `${message.MessageId ?? ''}: ${code}`).join('; ');
        const context = { queueUrl: this.options.queueUrl, sourceQueueUrl: this.options.sourceQueueUrl, moved, failed: detail };
        const text = `${failed.length} of ${batch.length} messages could not be sent to ${queueName(this.options.sourceQueueUrl)} (${detail}); ${moved} moved`;
        throw failed.some(({ senderFault }) => senderFault)
          ? new PermanentError('SQS.REDRIVE_SEND_FAILED', text, { context })
          : new RetriableError('SQS.REDRIVE_SEND_FAILED', text, { context });
      }
    }
    return { moved, method: 'receive-send-delete' };
  }

  private async sendToSource(
    batch: readonly Message[],
    movedBefore: number,
  ): Promise<{ sent: Message[]; failed: { message: Message; code: string; senderFault: boolean }[] }> {
    const fifo = this.options.sourceQueueUrl.endsWith('.fifo');
    let result: SendMessageBatchResult;
    try {
      result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.sourceQueueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: message.Body ?? '',
            MessageAttributes: applicationAttributes(message),
            ...(fifo
              ? {
                  MessageGroupId: message.Attributes?.['MessageGroupId'],
                  // Not the content: the original send of the same body is probably still inside the
                  // 5-minute deduplication window, and content-based deduplication would drop the
                  // redriven copy while we delete it from the DLQ. The DLQ message id makes a retried
                  // redrive of the same message a duplicate the queue drops instead.
                  MessageDeduplicationId: `redrive-${message.MessageId ?? ''}`,
                }
              : {}),
          })),
        }),
      );
    } catch (cause) {
      await this.release(batch);
      throw new RetriableError(
        'SQS.REDRIVE_SEND_FAILED',
        `SendMessageBatch to ${this.options.sourceQueueUrl} failed: ${errorMessage(cause)}`,
        {
          cause,
          context: { queueUrl: this.options.queueUrl, sourceQueueUrl: this.options.sourceQueueUrl, moved: movedBefore },
        },
      );
    }
    const sentIds = new Set((result.Successful ?? []).map((entry) => entry.Id));
    const failures = new Map((result.Failed ?? []).map((entry) => [entry.Id, entry]));
    return {
      sent: batch.filter((_, index) => sentIds.has(String(index))),
      failed: batch.flatMap((message, index) => {
        if (sentIds.has(String(index))) return [];
        const failure = failures.get(String(index));
        return [{ message, code: failure?.Code ?? 'NotAcknowledged', senderFault: failure?.SenderFault ?? false }];
      }),
    };
  }

  /** Reads up to `max` distinct messages, holding each for `holdSeconds`; stops early at `messageId`. */
  private async scan(max: number, messageId?: string): Promise<{ held: Map<string, Message>; match?: Message }> {
    const held = new Map<string, Message>();
    try {
      while (held.size < max) {
        const batch = await this.receive(Math.min(SQS_BATCH_LIMIT, max - held.size), this.settings.holdSeconds);
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

  private async receive(max: number, visibilityTimeout: number): Promise<Message[]> {
    try {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: max,
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: this.settings.waitTimeSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return Messages;
    } catch (cause) {
      throw new RetriableError('SQS.RECEIVE_FAILED', `ReceiveMessage from ${this.options.queueUrl} failed: ${errorMessage(cause)}`, {
        cause,
        context: { queueUrl: this.options.queueUrl },
      });
    }
  }

  /** Makes held messages visible again at once. A failure only means they return when their hold ends. */
  private async release(messages: readonly Message[]): Promise<void> {
    await this.batches(messages, 'ChangeMessageVisibilityBatch', (entries) =>
      this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: entries.map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
        }),
      ),
    );
  }

  /** A failed delete leaves the message in the DLQ as well: a later redrive duplicates it, which the worker dedupes. */
  private async delete(messages: readonly Message[]): Promise<void> {
    await this.batches(messages, 'DeleteMessageBatch', (entries) =>
      this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries })),
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
            this.options.logger?.warn({ queueUrl: this.options.queueUrl, failed: Failed }, `${action}: some entries failed`);
          }
        } catch (error) {
          this.options.logger?.warn({ queueUrl: this.options.queueUrl, err: errorMessage(error) }, `${action} failed`);
        }
      }),
    );
  }
}

/** The gauges of one or more DLQs, labelled by queue name. */
export interface DeadLetterMetrics {
  /** Sets `sqs_dlq_depth`, `sqs_dlq_oldest_age_seconds` and `sqs_dlq_alert` for `status.queue`. */
  record(status: DeadLetterStatus): void;
}

/**
 * Registers `sqs_dlq_depth{queue}`, `sqs_dlq_oldest_age_seconds{queue}` and
 * `sqs_dlq_alert{queue}` (1 when depth > 0). The Prometheus rule that pages is
 * infra/alerts/notifications-dlq.rules.yml.
 */
export function createDeadLetterMetrics(registry: MetricsRegistry): DeadLetterMetrics {
  const depth = registry.gauge<'queue'>({
    name: 'sqs_dlq_depth',
    help: 'Messages in the dead-letter queue (visible + in flight + delayed)',
    labelNames: ['queue'],
  });
  const oldestAge = registry.gauge<'queue'>({
    name: 'sqs_dlq_oldest_age_seconds',
    help: 'Age of the oldest dead letter, from its SentTimestamp (0 when empty)',
    labelNames: ['queue'],
  });
  const alert = registry.gauge<'queue'>({
    name: 'sqs_dlq_alert',
    help: '1 when the dead-letter queue holds any message: each one needs a person to look at it',
    labelNames: ['queue'],
  });
  return {
    record(status) {
      const labels = { queue: status.queue };
      depth.set(labels, status.depth);
      oldestAge.set(labels, status.oldestAgeSeconds);
      alert.set(labels, status.alert ? 1 : 0);
    },
  };
}

/** True when the error says the server does not implement the action (not that the request was wrong). */
export function isUnsupported(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    [e.name, e.Code, e.code].some((name) => typeof name === 'string' && UNSUPPORTED_ERRORS.has(name)) || e.$metadata?.httpStatusCode === 501
  );
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

/**
 * The task this call started. SQS lists a TaskHandle only while a task runs,
 * so a finished one is the most recently started (one task per source at a time).
 */
function findTask(
  results: readonly ListMessageMoveTasksResultEntry[],
  handle: string | undefined,
): ListMessageMoveTasksResultEntry | undefined {
  const byHandle = results.find((task) => task.TaskHandle !== undefined && task.TaskHandle === handle);
  if (byHandle) return byHandle;
  return [...results].sort((a, b) => (b.StartedTimestamp ?? 0) - (a.StartedTimestamp ?? 0))[0];
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

/** Every attribute as a string, the folded ones unfolded beside the rest. */
function attributeStrings(message: Message): Record<string, string> {
  const strings = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : ''),
    ]),
  );
  const folded = strings[FOLDED_ATTRIBUTES];
  return folded === undefined ? strings : { ...unfold(folded), ...strings };
}

/** Every attribute as the DLQ has it (types included), the folded ones unfolded, minus the dead-letter annotations. */
function applicationAttributes(message: Message): Record<string, MessageAttributeValue> {
  const attributes = message.MessageAttributes ?? {};
  const folded = attributes[FOLDED_ATTRIBUTES]?.StringValue;
  return Object.fromEntries([
    ...Object.entries(folded === undefined ? {} : unfold(folded)).map(([name, value]) => [
      name,
      { DataType: 'String', StringValue: value },
    ]),
    ...Object.entries(attributes)
      .filter(([name]) => !DEAD_LETTER_ATTRIBUTES.has(name) && !name.startsWith('x-error-'))
      .map(([name, value]) => [
        name,
        {
          DataType: value.DataType,
          ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
          ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
        },
      ]),
  ]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
