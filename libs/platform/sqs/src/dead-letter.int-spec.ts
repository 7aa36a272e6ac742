import { type Message, ReceiveMessageCommand, SQSClient, SendMessageCommand, UnsupportedOperation } from '@aws-sdk/client-sqs';
import { PermanentError, RetriableError } from '@qls/messaging';
import { MetricsRegistry } from '@qls/observability';
import { TestResources, waitFor } from '@qls/testing';
import {
  DeadLetterQueue,
  type DeadLetterQueueOptions,
  SqsConsumer,
  type SqsConsumerOptions,
  SqsPublisher,
  createDeadLetterMetrics,
  queueDepth,
  queueName,
} from './index';

/**
 * The dead-letter side of the ack contract on the real SQS-compatible server
 * (ElasticMQ): what lands in a DLQ can be seen, measured and sent back.
 */
describe('DeadLetterQueue (real ElasticMQ server)', () => {
  const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  let resources: TestResources;
  let publisher: SqsPublisher;

  beforeEach(() => {
    resources = new TestResources();
    publisher = new SqsPublisher(resources.sqs);
  });

  afterEach(() => resources.cleanup());

  interface Pair {
    readonly url: string;
    readonly dlqUrl: string;
  }

  async function queuePair(prefix: string, options: { visibilityTimeoutSeconds?: number; fifo?: boolean } = {}): Promise<Pair> {
    const { url, dlqUrl } = await resources.queue(prefix, { maxReceiveCount: 3, ...options });
    if (dlqUrl === undefined) throw new Error('TestResources made no DLQ');
    return { url, dlqUrl };
  }

  function open(pair: Pair, options: Partial<DeadLetterQueueOptions> = {}, client: SQSClient = resources.sqs): Promise<DeadLetterQueue> {
    return DeadLetterQueue.open(client, { queueUrl: pair.dlqUrl, sourceQueueUrl: pair.url, ...options });
  }

  /** Publishes `count` messages to the source queue and lets SqsConsumer dead-letter them with a PermanentError. */
  async function deadLetterByHandler(pair: Pair, count: number, options: { key?: string } = {}): Promise<void> {
    await publisher.publish(
      pair.url,
      Array.from({ length: count }, (_, i) => ({
        body: JSON.stringify({ v: 99, n: i }),
        headers: { 'event-id': `evt-${i}`, traceparent: TRACEPARENT },
        ...(options.key === undefined ? {} : { key: options.key }),
      })),
    );
    await failUntil(
      pair,
      () => new PermanentError('NOTIFICATION.UNKNOWN_VERSION', 'schema version 99 is not supported'),
      async () => {
        const [source, dlq] = await Promise.all([queueDepth(resources.sqs, pair.url), queueDepth(resources.sqs, pair.dlqUrl)]);
        return source.visible + source.inFlight === 0 && dlq.visible === count;
      },
      { timeoutMs: 20_000, description: `${count} dead letters` },
    );
  }

  /** Runs an SqsConsumer on the pair whose handler throws `failure()` until `done`, then stops it. */
  async function failUntil(
    pair: Pair,
    failure: () => Error,
    done: () => Promise<boolean>,
    wait: { timeoutMs: number; description: string },
    options: Partial<SqsConsumerOptions> = {},
  ): Promise<void> {
    const consumer = new SqsConsumer(resources.sqs, {
      queueUrl: pair.url,
      deadLetterQueueUrl: pair.dlqUrl,
      waitTimeSeconds: 1,
      ...options,
    });
    await consumer.start(async () => {
      throw failure();
    });
    try {
      await waitFor(done, wait);
    } finally {
      await stopConsumer(consumer, 1);
    }
  }

  /** True once the pair's DLQ shows one message. */
  const oneDeadLetter = async (pair: Pair) => (await queueDepth(resources.sqs, pair.dlqUrl)).visible === 1;

  /**
   * Stopping aborts the consumer's long poll on the client only: the server
   * keeps that poll open until its WaitTimeSeconds end and would hand it the
   * first message redriven meanwhile (hidden for 30 s). The condition to wait
   * for is that server-side deadline.
   */
  async function stopConsumer(consumer: SqsConsumer, waitTimeSeconds: number): Promise<void> {
    await consumer.stop();
    const pollEnds = Date.now() + waitTimeSeconds * 1_000 + 200;
    await waitFor(() => Date.now() >= pollEnds, { description: "the stopped consumer's long poll to end on the server" });
  }

  /** Receives until `count` distinct messages arrived (they are held for 30 s, so none comes twice). */
  async function receiveAll(queueUrl: string, count: number): Promise<Message[]> {
    const received = new Map<string, Message>();
    await waitFor(
      async () => {
        const { Messages = [] } = await resources.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 30,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        for (const message of Messages) received.set(message.MessageId ?? '', message);
        return received.size >= count;
      },
      { timeoutMs: 20_000, description: `${count} messages in ${queueName(queueUrl)}` },
    );
    return [...received.values()];
  }

  function attributesOf(message: Message): Record<string, string | undefined> {
    return Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));
  }

  it('refuses a DLQ that is not the one the source queue dead-letters to, naming both', async () => {
    const a = await queuePair('dlq-a');
    const b = await queuePair('dlq-b');

    await expect(DeadLetterQueue.open(resources.sqs, { queueUrl: a.dlqUrl, sourceQueueUrl: b.url })).rejects.toMatchObject({
      code: 'SQS.NOT_THE_DEAD_LETTER_QUEUE',
      message: expect.stringContaining(`${queueName(b.url)} dead-letters to`),
    });
    await expect(DeadLetterQueue.open(resources.sqs, { queueUrl: a.dlqUrl, sourceQueueUrl: b.url })).rejects.toThrow(queueName(a.dlqUrl));
  });

  it('lists a message SqsConsumer dead-lettered with a PermanentError, with its code, reason, source and receive count', async () => {
    const pair = await queuePair('dlq-list');
    await deadLetterByHandler(pair, 1);
    const dlq = await open(pair);

    const [listed, ...others] = await dlq.list();

    expect(others).toEqual([]);
    expect(listed).toEqual({
      messageId: expect.any(String),
      body: '{"v":99,"n":0}',
      bodyTruncated: false,
      errorCode: 'NOTIFICATION.UNKNOWN_VERSION',
      errorReason: 'schema version 99 is not supported',
      originalSource: pair.url,
      receiveCount: 1, // a new message in the DLQ: this listing is its first receive
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      ageSeconds: expect.any(Number),
    });
    // Reading is receiving: the next inspection counts too (documented on DeadLetterQueue).
    expect((await dlq.list())[0]?.receiveCount).toBe(2);
  });

  it('lists a message the RedrivePolicy moved after three retriable failures with no reason, the source ARN and its receives', async () => {
    const pair = await queuePair('dlq-policy', { visibilityTimeoutSeconds: 1 });
    await publisher.publish(pair.url, [{ body: 'flaky' }]);
    await failUntil(
      pair,
      () => new RetriableError('PROVIDER.TIMEOUT', 'provider timed out'),
      () => oneDeadLetter(pair),
      { timeoutMs: 20_000, description: 'the message moved by the RedrivePolicy' },
      { visibilityTimeoutSeconds: 1, retry: { initialMs: 100, maxMs: 100 } },
    );
    const dlq = await open(pair);

    const [listed] = await dlq.list();

    expect(listed).toMatchObject({ body: 'flaky', errorCode: null, errorReason: null });
    expect(listed?.originalSource).toMatch(new RegExp(`:${queueName(pair.url)}$`));
    expect(listed?.receiveCount).toBeGreaterThanOrEqual(4); // three in the source queue, then this listing
  });

  it('reports an oldest age that grows with time, and 0 for an empty DLQ', async () => {
    const pair = await queuePair('dlq-age');
    const dlq = await open(pair);
    expect(await dlq.oldestAgeSeconds()).toBe(0);
    expect(await dlq.status()).toEqual({
      queue: queueName(pair.dlqUrl),
      sourceQueue: queueName(pair.url),
      depth: 0,
      oldestAgeSeconds: 0,
      alert: false,
    });

    await deadLetterByHandler(pair, 2);
    const first = await dlq.oldestAgeSeconds();
    expect(first).toBeGreaterThan(0);

    const later = await waitFor(
      async () => {
        const age = await dlq.oldestAgeSeconds();
        return age >= first + 1 ? age : undefined;
      },
      { description: 'the oldest age to grow by a second' },
    );
    expect(later).toBeGreaterThanOrEqual(first + 1);
    expect(await dlq.status()).toMatchObject({ depth: 2, alert: true, oldestAgeSeconds: expect.any(Number) });
  });

  it('lists without losing or holding messages: depth is unchanged and every message is visible again at once', async () => {
    const pair = await queuePair('dlq-hold');
    await deadLetterByHandler(pair, 12); // more than one receive batch
    const dlq = await open(pair, { holdSeconds: 30 }); // a hold that outlives the test unless released

    const all = await dlq.list(100);
    const some = await dlq.list(5);

    expect(new Set(all.map((m) => m.messageId)).size).toBe(12);
    expect(all.map((m) => m.sentAt)).toEqual([...all.map((m) => m.sentAt)].sort());
    expect(some).toHaveLength(5);
    expect(await queueDepth(resources.sqs, pair.dlqUrl)).toEqual({ visible: 12, inFlight: 0, delayed: 0 });
    // Visible at once, not after the 30 s hold.
    const again = await receiveAll(pair.dlqUrl, 12);
    expect(new Set(again.map((m) => m.MessageId))).toEqual(new Set(all.map((m) => m.messageId)));
  });

  it('inspects one message by id with its whole body and attributes, and returns nothing for an unknown id', async () => {
    const pair = await queuePair('dlq-inspect');
    await deadLetterByHandler(pair, 3);
    const dlq = await open(pair, { bodyPreviewChars: 5 });
    const listed = await dlq.list();
    const target = listed[1];
    if (target === undefined) throw new Error('nothing listed');
    expect(target).toMatchObject({ body: '{"v":', bodyTruncated: true });

    const detail = await dlq.inspect(target.messageId);

    expect(detail).toMatchObject({ messageId: target.messageId, bodyTruncated: false, errorCode: 'NOTIFICATION.UNKNOWN_VERSION' });
    expect(detail?.body).toMatch(/^\{"v":99,"n":\d\}$/);
    expect(detail?.attributes).toMatchObject({ 'event-id': expect.stringMatching(/^evt-\d$/), traceparent: TRACEPARENT });
    expect(await dlq.inspect('no-such-message')).toBeUndefined();
    expect(await queueDepth(resources.sqs, pair.dlqUrl)).toEqual({ visible: 3, inFlight: 0, delayed: 0 });
  });

  it('redrives by move task: every message goes back to its source queue and the DLQ is empty', async () => {
    const pair = await queuePair('dlq-move');
    await deadLetterByHandler(pair, 3);
    const dlq = await open(pair);
    const ids = (await dlq.list()).map((m) => m.messageId);

    expect(await dlq.redrive()).toEqual({ moved: 3, method: 'move-task' });

    expect(await dlq.depth()).toBe(0);
    const back = await receiveAll(pair.url, 3);
    expect(back.map((m) => m.MessageId).sort()).toEqual([...ids].sort()); // a move keeps the message
    expect(back.map((m) => m.Attributes?.['ApproximateReceiveCount'])).toEqual(['1', '1', '1']); // and starts its receives afresh
    expect(await dlq.redrive({ method: 'move-task' })).toEqual({ moved: 0, method: 'move-task' });
  });

  it('redrives by receive-send-delete: keeps the application attributes and their types, drops x-error-*, empties the DLQ', async () => {
    const pair = await queuePair('dlq-rsd');
    await deadLetterByHandler(pair, 12);
    await resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: pair.dlqUrl,
        MessageBody: 'typed',
        MessageAttributes: {
          'retry-budget': { DataType: 'Number', StringValue: '3' },
          'x-error-code': { DataType: 'String', StringValue: 'TEST.BROKEN' },
        },
      }),
    );
    const dlq = await open(pair);

    expect(await dlq.redrive({ method: 'receive-send-delete' })).toEqual({ moved: 13, method: 'receive-send-delete' });

    expect(await dlq.depth()).toBe(0);
    const back = await receiveAll(pair.url, 13);
    expect(back).toHaveLength(13);
    const handled = back.filter((m) => m.Body !== 'typed');
    expect(new Set(handled.map((m) => attributesOf(m)['event-id']))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => `evt-${i}`)));
    for (const message of handled) {
      expect(attributesOf(message)).toEqual({ 'event-id': expect.any(String), traceparent: TRACEPARENT });
    }
    const typed = back.find((m) => m.Body === 'typed');
    expect(typed?.MessageAttributes).toEqual({ 'retry-budget': { DataType: 'Number', StringValue: '3' } });
  });

  it('dead-letters a message with the 10 attributes SQS allows with its reason (13 with the dead-letter ones), and a redrive gives it back its own 10', async () => {
    const pair = await queuePair('dlq-crowded');
    const own = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`app-${i}`, `value-${i}`]));
    await resources.sqs.send(
      new SendMessageCommand({
        QueueUrl: pair.url,
        MessageBody: 'crowded',
        MessageAttributes: Object.fromEntries(
          Object.entries(own).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
      }),
    );
    await failUntil(
      pair,
      () => new PermanentError('TEST.REJECTED', 'rejected for the test'),
      () => oneDeadLetter(pair),
      { timeoutMs: 15_000, description: 'the dead letter' },
    );
    const dlq = await open(pair);
    const [listed] = await dlq.list();
    expect(listed).toMatchObject({
      body: 'crowded',
      errorCode: 'TEST.REJECTED',
      errorReason: 'rejected for the test',
      originalSource: pair.url,
    });
    expect((await dlq.inspect(listed?.messageId ?? ''))?.attributes).toMatchObject(own);

    expect(await dlq.redrive({ method: 'receive-send-delete' })).toEqual({ moved: 1, method: 'receive-send-delete' });
    const [back] = await receiveAll(pair.url, 1);
    expect(back?.Body).toBe('crowded');
    expect(attributesOf(back ?? {})).toEqual(own);
  });

  it('redrives at most maxMessages by receive-send-delete, which a move task cannot do', async () => {
    const pair = await queuePair('dlq-max');
    await deadLetterByHandler(pair, 7);
    const dlq = await open(pair);

    await expect(dlq.redrive({ method: 'move-task', maxMessages: 5 })).rejects.toMatchObject({
      code: 'SQS.REDRIVE_INVALID',
      message: expect.stringMatching(/^maxMessages: /),
    });
    await expect(dlq.redrive({ maxMessages: 0 })).rejects.toMatchObject({ code: 'SQS.REDRIVE_INVALID' });
    expect(await dlq.redrive({ maxMessages: 5 })).toEqual({ moved: 5, method: 'receive-send-delete' });

    expect(await dlq.depth()).toBe(2);
    expect(await queueDepth(resources.sqs, pair.url)).toMatchObject({ visible: 5 });
  });

  it('falls back to receive-send-delete when the server does not implement move tasks', async () => {
    const pair = await queuePair('dlq-fallback');
    await deadLetterByHandler(pair, 4);
    // The same server, with StartMessageMoveTask answered the way SQS answers an unsupported operation.
    const client = new SQSClient({ region: resources.env.AWS_REGION, endpoint: resources.env.SQS_ENDPOINT });
    resources.onCleanup(async () => client.destroy());
    let attempts = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'StartMessageMoveTaskCommand') return next(args);
        attempts++;
        throw new UnsupportedOperation({ message: 'StartMessageMoveTask is not supported', $metadata: { httpStatusCode: 400 } });
      },
      { step: 'initialize', name: 'noMoveTasks' },
    );
    const dlq = await open(pair, {}, client);

    await expect(dlq.redrive({ method: 'move-task' })).rejects.toMatchObject({ code: 'SQS.MOVE_TASK_UNSUPPORTED' });
    expect(await dlq.redrive()).toEqual({ moved: 4, method: 'receive-send-delete' });

    expect(attempts).toBe(2);
    expect(await dlq.depth()).toBe(0);
    expect(await receiveAll(pair.url, 4)).toHaveLength(4);
  });

  it('redrives a FIFO DLQ within the deduplication window of the original send, keeping the message group', async () => {
    const pair = await queuePair('dlq-fifo', { fifo: true });
    await deadLetterByHandler(pair, 2, { key: 'user-42' });
    const dlq = await open(pair);

    expect(await dlq.redrive({ method: 'receive-send-delete' })).toEqual({ moved: 2, method: 'receive-send-delete' });

    // Content-based deduplication would have dropped these: the same bodies went to this queue seconds ago.
    const back = await receiveAll(pair.url, 2);
    expect(back.map((m) => m.Attributes?.['MessageGroupId'])).toEqual(['user-42', 'user-42']);
    expect(back.map((m) => m.Body)).toEqual(['{"v":99,"n":0}', '{"v":99,"n":1}']);
  });

  it('exports depth, oldest age and the alert condition as gauges labelled by queue', async () => {
    const pair = await queuePair('dlq-metrics');
    const dlq = await open(pair);
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = createDeadLetterMetrics(registry);
    const queue = queueName(pair.dlqUrl);
    const value = (text: string, name: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`queue="${queue}"`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };

    metrics.record(await dlq.status());
    let text = await registry.scrape();
    expect([value(text, 'sqs_dlq_depth'), value(text, 'sqs_dlq_alert'), value(text, 'sqs_dlq_oldest_age_seconds')]).toEqual([0, 0, 0]);

    await deadLetterByHandler(pair, 2);
    metrics.record(await dlq.status());
    text = await registry.scrape();
    expect(value(text, 'sqs_dlq_depth')).toBe(2);
    expect(value(text, 'sqs_dlq_alert')).toBe(1);
    expect(value(text, 'sqs_dlq_oldest_age_seconds')).toBeGreaterThan(0);
  });
});
