import {
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  SendMessageBatchCommand,
  type SendMessageBatchResult,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { AppError, PermanentError, RetriableError, errorMessage } from '@qls/messaging';
import { applicationAttributes } from './dead-letter.attributes';
import type { DeadLetterReceiver } from './dead-letter.receiver';
import type { SqsLogger } from './sqs.consumer';
import { SQS_BATCH_LIMIT, queueName } from './sqs.publisher';

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

/** A dead-letter queue and the source queue its messages go back to, as {@link DeadLetterQueue} opened them. */
export interface RedrivePair {
  readonly client: SQSClient;
  readonly dlq: DeadLetterReceiver;
  readonly sourceQueueUrl: string;
  readonly arns: { readonly queue: string; readonly source: string };
  readonly redriveVisibilitySeconds: number;
  readonly moveTaskTimeoutMs: number;
  readonly moveTaskPollMs: number;
  readonly logger: SqsLogger | undefined;
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

/** See {@link DeadLetterQueue.redrive}. */
export async function redriveToSource(pair: RedrivePair, options: RedriveOptions): Promise<RedriveResult> {
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
  if (method === 'receive-send-delete' || maxMessages !== undefined) return receiveSendDelete(pair, maxMessages);
  try {
    return await moveTask(pair);
  } catch (error) {
    if (method === 'auto' && error instanceof AppError && error.code === 'SQS.MOVE_TASK_UNSUPPORTED') {
      pair.logger?.warn(
        { queueUrl: pair.dlq.queueUrl, err: errorMessage(error.cause) },
        'the server has no message move tasks; redriving by receive-send-delete',
      );
      return receiveSendDelete(pair, undefined);
    }
    throw error;
  }
}

/** True when the error says the server does not implement the action (not that the request was wrong). */
export function isUnsupported(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    [e.name, e.Code, e.code].some((name) => typeof name === 'string' && UNSUPPORTED_ERRORS.has(name)) || e.$metadata?.httpStatusCode === 501
  );
}

async function moveTask(pair: RedrivePair): Promise<RedriveResult> {
  const context = { queueUrl: pair.dlq.queueUrl, sourceQueueUrl: pair.sourceQueueUrl };
  const name = queueName(pair.dlq.queueUrl);
  const startedAt = Date.now();
  let handle: string | undefined;
  try {
    ({ TaskHandle: handle } = await pair.client.send(
      new StartMessageMoveTaskCommand({ SourceArn: pair.arns.queue, DestinationArn: pair.arns.source }),
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
    throw new RetriableError('SQS.MOVE_TASK_START_FAILED', `StartMessageMoveTask from ${name} failed: ${errorMessage(cause)}`, {
      cause,
      context,
    });
  }
  const deadline = startedAt + pair.moveTaskTimeoutMs;
  for (;;) {
    const { Results = [] } = await pair.client.send(new ListMessageMoveTasksCommand({ SourceArn: pair.arns.queue, MaxResults: 10 }));
    const task = findTask(Results, handle);
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const status = task?.Status ?? 'UNKNOWN';
    if (status === 'COMPLETED') return { moved, method: 'move-task' };
    if (status === 'FAILED' || status === 'CANCELLED' || status === 'CANCELLING') {
      throw new PermanentError(
        'SQS.MOVE_TASK_FAILED',
        `move task ${handle ?? ''} from ${name} ended ${status} after moving ${moved}: ${task?.FailureReason ?? 'no reason given'}`,
        { context: { ...context, taskHandle: handle, moved } },
      );
    }
    if (Date.now() >= deadline) {
      throw new RetriableError(
        'SQS.REDRIVE_TIMEOUT',
        `move task ${handle ?? ''} from ${name} is still ${status} after ${pair.moveTaskTimeoutMs} ms ` +
          `(${moved} moved so far); it keeps running on the server`,
        { context: { ...context, taskHandle: handle, moved } },
      );
    }
    await sleep(pair.moveTaskPollMs);
  }
}

/**
 * Without `maxMessages`, stops after as many messages as the DLQ held when it
 * started: a message that fails again at once and comes back is not cycled
 * forever.
 */
async function receiveSendDelete(pair: RedrivePair, maxMessages: number | undefined): Promise<RedriveResult> {
  const { dlq } = pair;
  const limit = maxMessages ?? (await dlq.depth());
  let moved = 0;
  while (moved < limit) {
    const batch = await dlq.receive(Math.min(SQS_BATCH_LIMIT, limit - moved), pair.redriveVisibilitySeconds);
    if (batch.length === 0) break;
    const { sent, failed } = await sendToSource(pair, batch, moved);
    // Delete only what the source queue acknowledged: after the send, so a crash duplicates instead of losing.
    await dlq.delete(sent);
    moved += sent.length;
    if (failed.length > 0) {
      await dlq.release(failed.map(({ message }) => message));
      const detail = failed.map(({ message, code }) => `${message.MessageId ?? ''}: ${code}`).join('; ');
      const context = { queueUrl: dlq.queueUrl, sourceQueueUrl: pair.sourceQueueUrl, moved, failed: detail };
      const text = `${failed.length} of ${batch.length} messages could not be sent to ${queueName(pair.sourceQueueUrl)} (${detail}); ${moved} moved`;
      throw failed.some(({ senderFault }) => senderFault)
        ? new PermanentError('SQS.REDRIVE_SEND_FAILED', text, { context })
        : new RetriableError('SQS.REDRIVE_SEND_FAILED', text, { context });
    }
  }
  return { moved, method: 'receive-send-delete' };
}

async function sendToSource(
  pair: RedrivePair,
  batch: readonly Message[],
  movedBefore: number,
): Promise<{ sent: Message[]; failed: { message: Message; code: string; senderFault: boolean }[] }> {
  const fifo = pair.sourceQueueUrl.endsWith('.fifo');
  let result: SendMessageBatchResult;
  try {
    result = await pair.client.send(
      new SendMessageBatchCommand({
        QueueUrl: pair.sourceQueueUrl,
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
    await pair.dlq.release(batch);
    throw new RetriableError('SQS.REDRIVE_SEND_FAILED', `SendMessageBatch to ${pair.sourceQueueUrl} failed: ${errorMessage(cause)}`, {
      cause,
      context: { queueUrl: pair.dlq.queueUrl, sourceQueueUrl: pair.sourceQueueUrl, moved: movedBefore },
    });
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
