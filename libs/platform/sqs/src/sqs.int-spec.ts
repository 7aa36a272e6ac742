import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { SpanKind, trace } from '@opentelemetry/api';
import { Headers, type InboundMessage, PermanentError, RetriableError } from '@qls/messaging';
import { startTestTelemetry } from '@qls/observability/testing';
import { TestResources, waitFor } from '@qls/testing';
import { SqsConsumer, type SqsConsumerOptions, SqsPublisher, queueDepth } from './index';

/**
 * What the chapter relies on from a queue, proven on the real SQS-compatible
 * server (ElasticMQ) with the current @aws-sdk/client-sqs and this library's adapters.
 */
describe('SQS (real ElasticMQ server)', () => {
  let resources: TestResources;
  let publisher: SqsPublisher;
  let consumers: SqsConsumer[];

  beforeEach(() => {
    resources = new TestResources();
    publisher = new SqsPublisher(resources.sqs);
    consumers = [];
  });

  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await resources.cleanup();
  });

  async function receive(queueUrl: string, options: { wait?: number; visibility?: number } = {}): Promise<Message[]> {
    const { Messages = [] } = await resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: options.wait ?? 0,
        ...(options.visibility === undefined ? {} : { VisibilityTimeout: options.visibility }),
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    return Messages;
  }

  /** Long-polls until something arrives. */
  function receiveEventually(queueUrl: string, description: string): Promise<Message[]> {
    return waitFor(
      async () => {
        const messages = await receive(queueUrl, { wait: 1 });
        return messages.length > 0 ? messages : undefined;
      },
      { timeoutMs: 15_000, description },
    );
  }

  function startConsumer(
    queueUrl: string,
    dlqUrl: string,
    handler: (m: InboundMessage) => Promise<void>,
    pool: Pick<SqsConsumerOptions, 'concurrency' | 'receivers'> = {},
  ): SqsConsumer {
    const consumer = new SqsConsumer(resources.sqs, {
      queueUrl,
      deadLetterQueueUrl: dlqUrl,
      concurrency: 10,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 3,
      retry: { initialMs: 1_000, maxMs: 1_000 },
      ...pool,
    });
    consumers.push(consumer);
    void consumer.start(handler);
    return consumer;
  }

  describe('the server', () => {
    it('long polling returns as soon as a message arrives instead of waiting out WaitTimeSeconds', async () => {
      const { url } = await resources.queue('long-poll');
      const started = Date.now();
      const polling = receive(url, { wait: 10 });
      setTimeout(() => void resources.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' })), 500);
      const messages = await polling;
      expect(messages.map((m) => m.Body)).toEqual(['hello']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(Date.now() - started).toBeLessThan(8_000);
    });

    it('redelivers a message that was not deleted once its visibility timeout expires', async () => {
      const { url } = await resources.queue('visibility', { visibilityTimeoutSeconds: 1 });
      await publisher.publish(url, [{ body: 'work' }]);
      const [first] = await receiveEventually(url, 'the first delivery');
      expect(first.Attributes?.ApproximateReceiveCount).toBe('1');
      expect(await receive(url)).toEqual([]);

      const [again] = await receiveEventually(url, 'the redelivery');
      expect(again.MessageId).toBe(first.MessageId);
      expect(again.Attributes?.ApproximateReceiveCount).toBe('2');
    });

    it('ChangeMessageVisibility extends the lease, and 0 releases the message at once', async () => {
      const { url } = await resources.queue('change-visibility', { visibilityTimeoutSeconds: 1 });
      await publisher.publish(url, [{ body: 'slow work' }]);
      const [message] = await receiveEventually(url, 'the message');
      await resources.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 30 }),
      );
      // Well past the original 1 s timeout, the extended lease still hides it.
      expect(await receive(url, { wait: 3 })).toEqual([]);

      await resources.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
      );
      const [released] = await receive(url, { wait: 1 });
      expect(released.MessageId).toBe(message.MessageId);
    });

    it('sends and deletes in batches, and reports depth with GetQueueAttributes', async () => {
      const { url } = await resources.queue('batch');
      await publisher.publish(
        url,
        Array.from({ length: 25 }, (_, i) => ({ body: `m${i}`, headers: { 'event-id': `e${i}` } })),
      );
      expect(await queueDepth(resources.sqs, url)).toEqual({ visible: 25, inFlight: 0, delayed: 0 });

      const received: Message[] = [];
      await waitFor(
        async () => {
          received.push(...(await receive(url, { wait: 1 })));
          return received.length === 25;
        },
        { timeoutMs: 15_000, description: '25 messages' },
      );
      expect(new Set(received.map((m) => m.Body)).size).toBe(25);
      expect(received.every((m) => m.MessageAttributes?.['event-id']?.StringValue?.startsWith('e'))).toBe(true);
      expect(await queueDepth(resources.sqs, url)).toMatchObject({ visible: 0, inFlight: 25 });

      for (let i = 0; i < received.length; i += 10) {
        const batch = received.slice(i, i + 10);
        const result = await resources.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        expect(result.Failed ?? []).toEqual([]);
      }
      expect(await queueDepth(resources.sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('publishes more than 10 messages to a FIFO queue one batch call after another, so a group arrives in order', async () => {
      const { url } = await resources.queue('fifo-publish', { fifo: true });
      await publisher.publish(
        url,
        Array.from({ length: 35 }, (_, seq) => ({ key: 'ada', body: String(seq), deduplicationId: `ada-${seq}` })),
      );
      const bodies: string[] = [];
      await waitFor(
        async () => {
          const messages = await receive(url, { wait: 1 });
          bodies.push(...messages.map((m) => m.Body ?? ''));
          if (messages.length > 0) {
            await resources.sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: url,
                Entries: messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
              }),
            );
          }
          return bodies.length === 35;
        },
        { timeoutMs: 15_000, description: () => `35 messages of the group (${bodies.length} so far)` },
      );
      expect(bodies).toEqual(Array.from({ length: 35 }, (_, seq) => String(seq)));
    });

    it('moves a message to the DLQ after its third receive (RedrivePolicy maxReceiveCount 3)', async () => {
      const { url, dlqUrl } = await resources.queue('redrive', { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
      await publisher.publish(url, [{ body: 'poison' }]);
      for (let receiveCount = 1; receiveCount <= 3; receiveCount++) {
        const [message] = await receiveEventually(url, `receive #${receiveCount}`);
        expect(message.Attributes?.ApproximateReceiveCount).toBe(String(receiveCount));
      }
      // Like SQS, the server moves it on the next receive attempt after the third.
      const [dead] = await waitFor(
        async () => {
          expect(await receive(url, { wait: 1 })).toEqual([]);
          const messages = await receive(dlqUrl ?? '');
          return messages.length > 0 ? messages : undefined;
        },
        { timeoutMs: 15_000, description: 'the message in the DLQ' },
      );
      expect(dead.Body).toBe('poison');
    });

    it('gives each message its SentTimestamp, from which the age of the oldest message is derived', async () => {
      const { url } = await resources.queue('age');
      const before = Date.now();
      await publisher.publish(url, [{ body: 'old' }]);
      await waitFor(() => Date.now() - before >= 1_100, { description: 'the message to age a second' });
      const [message] = await receiveEventually(url, 'the message');
      const sent = Number(message.Attributes?.SentTimestamp);
      expect(sent).toBeGreaterThanOrEqual(before - 1_000);
      expect((Date.now() - sent) / 1000).toBeGreaterThanOrEqual(1);
    });
  });

  describe('SqsConsumer', () => {
    /** A queue (with a DLQ after 3 receives) holding `count` messages, bodies "0", "1", … */
    async function queueWithNumbers(prefix: string, count: number): Promise<{ url: string; dlqUrl: string }> {
      const { url, dlqUrl = '' } = await resources.queue(prefix, { maxReceiveCount: 3 });
      await publisher.publish(
        url,
        Array.from({ length: count }, (_, i) => ({ body: String(i) })),
      );
      return { url, dlqUrl };
    }

    it('deletes a message only after its handler resolved', async () => {
      const { url, dlqUrl } = await queueWithNumbers('ack', 15);
      const handled = new Set<string>();
      startConsumer(url, dlqUrl, async (m) => void handled.add(m.body));
      await waitFor(() => handled.size === 15, { timeoutMs: 15_000, description: '15 handled messages' });
      await waitFor(async () => (await queueDepth(resources.sqs, url)).inFlight === 0, { description: 'every message deleted' });
      expect(await queueDepth(resources.sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('does not let one slow message hold up the rest of its batch', async () => {
      const { url, dlqUrl } = await queueWithNumbers('hol', 10);
      let releaseSlow!: () => void;
      const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
      const done: string[] = [];
      startConsumer(url, dlqUrl, async (m) => {
        if (m.body === '0') await slow;
        done.push(m.body);
      });
      await waitFor(() => done.length === 9, { timeoutMs: 15_000, description: 'the nine fast messages' });
      expect(done).not.toContain('0');
      releaseSlow();
      await waitFor(() => done.length === 10, { description: 'the slow message' });
    });

    it('keeps a slow message invisible with a heartbeat instead of letting it be redelivered', async () => {
      const { url, dlqUrl = '' } = await resources.queue('heartbeat', { maxReceiveCount: 3 });
      await publisher.publish(url, [{ body: 'slow' }]);
      const attempts: number[] = [];
      let finished = false;
      startConsumer(url, dlqUrl, async (m) => {
        attempts.push(m.attempt);
        // 3 s visibility timeout; the handler takes more than twice that.
        await waitFor(() => false, { timeoutMs: 7_000 }).catch(() => undefined);
        finished = true;
      });
      await waitFor(() => finished, { timeoutMs: 15_000, description: 'the slow handler' });
      expect(attempts).toEqual([1]);
    });

    it('redelivers after a retriable failure, with the receive count as the attempt', async () => {
      const { url, dlqUrl = '' } = await resources.queue('retry', { maxReceiveCount: 3 });
      await publisher.publish(url, [{ body: 'flaky' }]);
      const attempts: number[] = [];
      startConsumer(url, dlqUrl, async (m) => {
        attempts.push(m.attempt);
        if (m.attempt < 2) throw new RetriableError('TEST.TIMEOUT', 'provider timed out');
      });
      await waitFor(() => attempts.length === 2, { timeoutMs: 15_000, description: 'the retry' });
      expect(attempts).toEqual([1, 2]);
      await waitFor(async () => (await queueDepth(resources.sqs, url)).inFlight === 0, { description: 'the delete' });
    });

    it('sends a permanently failing message straight to the DLQ with the reason, without burning retries', async () => {
      const { url, dlqUrl = '' } = await resources.queue('poison', { maxReceiveCount: 3 });
      await publisher.publish(url, [{ body: '{"v":99}', headers: { 'event-id': 'evt-1' } }]);
      const attempts: number[] = [];
      startConsumer(url, dlqUrl, async (m) => {
        attempts.push(m.attempt);
        throw new PermanentError('NOTIFICATION.UNKNOWN_VERSION', 'schema version 99 is not supported');
      });
      const [dead] = await receiveEventually(dlqUrl, 'the dead letter');
      expect(attempts).toEqual([1]);
      expect(dead.Body).toBe('{"v":99}');
      const attributes = Object.fromEntries(Object.entries(dead.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));
      expect(attributes).toMatchObject({
        'event-id': 'evt-1',
        'x-error-code': 'NOTIFICATION.UNKNOWN_VERSION',
        'x-error-reason': 'schema version 99 is not supported',
        'x-original-source': url,
      });
    });

    it('carries the trace context in message attributes, and continues the trace a message already has through a create span', async () => {
      const telemetry = startTestTelemetry();
      try {
        const { url, dlqUrl = '' } = await resources.queue('traced', { maxReceiveCount: 3 });
        const origin = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        await trace.getTracer('test').startActiveSpan('POST /notifications', async (span) => {
          await publisher.publish(url, [{ body: 'fresh' }, { body: 'from-outbox', headers: { traceparent: origin } }]);
          span.end();
        });
        const seen = new Map<string, string | undefined>();
        startConsumer(url, dlqUrl, async (m) => void seen.set(m.body, trace.getActiveSpan()?.spanContext().traceId));
        await waitFor(() => seen.size === 2, { timeoutMs: 15_000, description: 'both messages' });

        const request = telemetry.spans().find((s) => s.name === 'POST /notifications');
        const send = telemetry.spans().find((s) => s.name.startsWith('send '));
        expect(send?.kind).toBe(SpanKind.PRODUCER);
        expect(send?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
        expect(send?.links.map((l) => l.context.traceId)).toEqual(['0af7651916cd43dd8448eb211c80319c']);
        // The outbox's trace continues through a create span of the relay, child of the recorded context.
        const create = telemetry.spans().find((s) => s.name.startsWith('create '));
        expect(create?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
        expect(create?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
        expect(send?.links.map((l) => l.context.spanId)).toEqual([create?.spanContext().spanId]);
        expect(seen.get('fresh')).toBe(request?.spanContext().traceId);
        expect(seen.get('from-outbox')).toBe('0af7651916cd43dd8448eb211c80319c');
      } finally {
        await telemetry.shutdown();
      }
    });

    it('keeps the order of each message group on a FIFO queue, also across a retry', async () => {
      const { url, dlqUrl = '' } = await resources.queue('fifo', { fifo: true, maxReceiveCount: 3, visibilityTimeoutSeconds: 3 });
      const users = ['ada', 'bob', 'cyd'];
      for (let seq = 0; seq < 10; seq++) {
        await publisher.publish(
          url,
          users.map((user) => ({ key: user, body: JSON.stringify({ user, seq }), deduplicationId: `${user}-${seq}` })),
        );
      }
      const seen = new Map<string, number[]>(users.map((user) => [user, []]));
      let failedOnce = false;
      startConsumer(url, dlqUrl, async (m) => {
        const { user, seq } = JSON.parse(m.body) as { user: string; seq: number };
        if (user === 'bob' && seq === 3 && !failedOnce) {
          failedOnce = true;
          throw new RetriableError('TEST.FLAKY', 'provider hiccup');
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        seen.get(user)?.push(seq);
      });
      await waitFor(() => [...seen.values()].every((seqs) => seqs.length === 10), {
        timeoutMs: 30_000,
        description: '10 messages per user',
      });
      expect(failedOnce).toBe(true);
      for (const seqs of seen.values()) expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('retries a FIFO message in place while its group waits, so later messages never lose receives to it', async () => {
      // Each of the first three fails once. Handing the rest of the group back after
      // each failure would count a receive for every later message three times over,
      // and the queue's redrive (3) would dead-letter 'seq 3' before it ever ran.
      const { url, dlqUrl = '' } = await resources.queue('fifo-burn', { fifo: true, maxReceiveCount: 3, visibilityTimeoutSeconds: 3 });
      await publisher.publish(
        url,
        Array.from({ length: 6 }, (_, seq) => ({ key: 'ada', body: String(seq), deduplicationId: `ada-${seq}` })),
      );
      const attempts: string[] = [];
      const failed = new Set<string>();
      startConsumer(url, dlqUrl, async (m) => {
        attempts.push(`${m.body}@${m.attempt}`);
        if (Number(m.body) < 3 && !failed.has(m.body)) {
          failed.add(m.body);
          throw new RetriableError('TEST.FLAKY', 'provider hiccup');
        }
      });
      await waitFor(async () => attempts.includes('5@1') && (await queueDepth(resources.sqs, url)).inFlight === 0, {
        timeoutMs: 30_000,
        description: 'the whole group handled and deleted',
      });
      expect(attempts).toEqual(['0@1', '0@2', '1@1', '1@2', '2@1', '2@2', '3@1', '4@1', '5@1']);
      expect(await queueDepth(resources.sqs, dlqUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('dead-letters a FIFO message retried in place once its attempts reach maxReceiveCount, with the reason, and goes on with its group', async () => {
      const { url, dlqUrl = '' } = await resources.queue('fifo-exhaust', { fifo: true, maxReceiveCount: 3, visibilityTimeoutSeconds: 3 });
      await publisher.publish(url, [
        { key: 'bob', body: 'down', deduplicationId: 'bob-0' },
        { key: 'bob', body: 'after', deduplicationId: 'bob-1' },
      ]);
      const attempts: string[] = [];
      startConsumer(url, dlqUrl, async (m) => {
        attempts.push(`${m.body}@${m.attempt}`);
        if (m.body === 'down') throw new RetriableError('TEST.DOWN', 'provider down');
      });
      await waitFor(() => attempts.includes('after@1'), { timeoutMs: 30_000, description: "'after' handled" });
      expect(attempts).toEqual(['down@1', 'down@2', 'down@3', 'after@1']);
      const [dead] = await receive(dlqUrl, { wait: 5 });
      expect(dead?.Body).toBe('down');
      expect(dead?.MessageAttributes?.[Headers.errorCode]?.StringValue).toBe('TEST.DOWN');
      expect(dead?.Attributes?.MessageGroupId).toBe('bob');
    });

    it('runs several receive loops that together never hold more messages than the pool', async () => {
      const { url, dlqUrl } = await queueWithNumbers('receivers', 60);
      let running = 0;
      let most = 0;
      const handled = new Set<string>();
      const consumer = startConsumer(
        url,
        dlqUrl,
        async (m) => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          handled.add(m.body);
          running--;
        },
        { concurrency: 7, receivers: 3 },
      );
      await waitFor(() => handled.size === 60, { timeoutMs: 30_000, description: 'all 60 handled' });
      expect(most).toBeLessThanOrEqual(7);
      expect(most).toBeGreaterThan(1);
      await consumer.stop();
      expect(await queueDepth(resources.sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('a busy pool receives a batch at a time, not a message for each slot that frees up', async () => {
      const { url, dlqUrl } = await queueWithNumbers('batch-receives', 150);
      const asked: number[] = [];
      resources.sqs.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { MaxNumberOfMessages?: number };
          if (args.input && 'MaxNumberOfMessages' in args.input) asked.push(input.MaxNumberOfMessages ?? 1);
          return next(args);
        },
        { step: 'initialize', name: 'recordReceiveSizes' },
      );
      const handled = new Set<string>();
      startConsumer(
        url,
        dlqUrl,
        async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 10 + (Number(m.body) % 7) * 5));
          handled.add(m.body);
        },
        { concurrency: 20, receivers: 2 },
      );
      await waitFor(() => handled.size === 150, { timeoutMs: 30_000, description: 'all 150 handled' });
      // Handlers end one by one; each receive still waited for a full batch of free slots.
      expect(asked.length).toBeGreaterThanOrEqual(15);
      expect(new Set(asked)).toEqual(new Set([10]));
    });

    it('finishes in-flight work on stop and takes no new messages', async () => {
      const { url, dlqUrl = '' } = await resources.queue('drain', { maxReceiveCount: 3 });
      await publisher.publish(url, [{ body: 'a' }]);
      let started = false;
      let finished = false;
      const handled: string[] = [];
      const consumer = startConsumer(url, dlqUrl, async (m) => {
        handled.push(m.body);
        started = true;
        await waitFor(() => false, { timeoutMs: 500 }).catch(() => undefined);
        finished = true;
      });
      await waitFor(() => started, { timeoutMs: 15_000, description: 'the handler to start' });
      await consumer.stop();
      expect(finished).toBe(true);
      expect(handled).toEqual(['a']);
      await publisher.publish(url, [{ body: 'b' }]);
      // Nothing is held by the stopped consumer: 'b' is visible at once.
      expect(await queueDepth(resources.sqs, url)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
      expect(handled).toEqual(['a']);
    });
  });
});
