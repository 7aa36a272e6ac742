import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { SqsPublisher, queueDepth, queueName } from '@qls/sqs';
import { listenLocally, operatorTokens, suiteResources, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

/**
 * The app in this process (Nest on port 0) against a queue pair of its own on
 * the local ElasticMQ: what the ops console and Prometheus see.
 */
describe('notification-dlq-monitor', () => {
  const service = 'notification-dlq-monitor';
  const suite = suiteResources({ each: true });

  async function queuePair(prefix: string): Promise<{ url: string; dlqUrl: string }> {
    const { url, dlqUrl } = await suite.resources.queue(prefix, { maxReceiveCount: 3 });
    if (dlqUrl === undefined) throw new Error('TestResources made no DLQ');
    return { url, dlqUrl };
  }

  async function start(env: Record<string, string>): Promise<{ url: string }> {
    const config = loadConfig(configSchema, {
      ...process.env,
      ...(await ops).env,
      LOG_LEVEL: 'silent',
      DLQ_POLL_INTERVAL_MS: '200',
      ...env,
    });
    const app = await NestFactory.create(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      logger: false,
      abortOnError: false,
    });
    suite.resources.onCleanup(() => app.close());
    return { url: await listenLocally(app) };
  }

  /** Dead letters as SqsConsumer writes them (its own test proves it does). */
  async function deadLetters(pair: { url: string; dlqUrl: string }, count: number): Promise<void> {
    await new SqsPublisher(suite.resources.sqs).publish(
      pair.dlqUrl,
      Array.from({ length: count }, (_, i) => ({
        body: JSON.stringify({ v: 99, n: i }),
        headers: {
          'event-id': `evt-${i}`,
          'x-error-code': 'NOTIFICATION.UNKNOWN_VERSION',
          'x-error-reason': 'schema version 99 is not supported',
          'x-original-source': pair.url,
        },
      })),
    );
  }

  async function json(response: Response): Promise<{ status: number; body: Record<string, unknown> }> {
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  function post(url: string, body: unknown): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** The value of `name{...queue="<queue>"...}` in a scrape, if any. */
  async function gauge(url: string, name: string, queue: string): Promise<number | undefined> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`queue="${queue}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  it('refuses to start when NOTIFICATIONS_DLQ is not the dead-letter queue of NOTIFICATIONS_QUEUE, naming both', async () => {
    const a = await queuePair('monitor-a');
    const b = await queuePair('monitor-b');

    await expect(start({ NOTIFICATIONS_QUEUE: queueName(a.url), NOTIFICATIONS_DLQ: queueName(b.dlqUrl) })).rejects.toThrow(
      `NOTIFICATIONS_QUEUE (${queueName(a.url)}) / NOTIFICATIONS_DLQ (${queueName(b.dlqUrl)})`,
    );
  });

  it('reports depth, oldest age and the alert, lists and inspects dead letters, and is ready', async () => {
    const pair = await queuePair('monitor-read');
    const { url } = await start({ NOTIFICATIONS_QUEUE: queueName(pair.url), NOTIFICATIONS_DLQ: queueName(pair.dlqUrl) });

    expect(await json(await fetch(`${url}/dlq`))).toEqual({
      status: 200,
      body: { queue: queueName(pair.dlqUrl), sourceQueue: queueName(pair.url), depth: 0, oldestAgeSeconds: 0, alert: false },
    });
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    await deadLetters(pair, 3);
    const status = await json(await fetch(`${url}/dlq`));
    expect(status.body).toMatchObject({ depth: 3, alert: true, oldestAgeSeconds: expect.any(Number) });

    const listed = await json(await fetch(`${url}/dlq/messages?limit=2`));
    expect(listed.status).toBe(200);
    const messages = listed.body['messages'] as { messageId: string }[];
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({
      errorCode: 'NOTIFICATION.UNKNOWN_VERSION',
      errorReason: 'schema version 99 is not supported',
      originalSource: pair.url,
      receiveCount: expect.any(Number),
    });

    const id = messages[1]?.messageId ?? '';
    const detail = await json(await fetch(`${url}/dlq/messages/${id}`));
    expect(detail).toMatchObject({ status: 200, body: { messageId: id, attributes: { 'event-id': expect.stringMatching(/^evt-/) } } });
    expect((await fetch(`${url}/dlq/messages/no-such-id`)).status).toBe(404);
    // Reading over HTTP removed and held nothing.
    expect(await queueDepth(suite.resources.sqs, pair.dlqUrl)).toEqual({ visible: 3, inFlight: 0, delayed: 0 });
  });

  it('exports the DLQ gauges on /metrics, refreshed on its interval', async () => {
    const pair = await queuePair('monitor-metrics');
    const { url } = await start({ NOTIFICATIONS_QUEUE: queueName(pair.url), NOTIFICATIONS_DLQ: queueName(pair.dlqUrl) });
    const queue = queueName(pair.dlqUrl);
    await waitFor(async () => (await gauge(url, 'sqs_dlq_depth', queue)) === 0, { description: 'the first refresh' });
    expect(await gauge(url, 'sqs_dlq_alert', queue)).toBe(0);

    await deadLetters(pair, 2);

    // No request to /dlq: the poller alone brings the gauges up to date.
    await waitFor(async () => (await gauge(url, 'sqs_dlq_depth', queue)) === 2, { description: 'sqs_dlq_depth 2' });
    expect(await gauge(url, 'sqs_dlq_alert', queue)).toBe(1);
    await waitFor(async () => ((await gauge(url, 'sqs_dlq_oldest_age_seconds', queue)) ?? 0) > 0, {
      description: 'a positive sqs_dlq_oldest_age_seconds',
    });
  });

  it('redrives over HTTP back to the notifications queue, and the gauges follow', async () => {
    const pair = await queuePair('monitor-redrive');
    const { url } = await start({ NOTIFICATIONS_QUEUE: queueName(pair.url), NOTIFICATIONS_DLQ: queueName(pair.dlqUrl) });
    const queue = queueName(pair.dlqUrl);
    await deadLetters(pair, 5);

    expect(await json(await post(`${url}/dlq/redrive`, { method: 'receive-send-delete', maxMessages: 2 }))).toEqual({
      status: 200,
      body: { moved: 2, method: 'receive-send-delete' },
    });
    expect(await json(await post(`${url}/dlq/redrive`, { all: true }))).toEqual({ status: 200, body: { moved: 3, method: 'move-task' } });

    expect(await queueDepth(suite.resources.sqs, pair.dlqUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queueDepth(suite.resources.sqs, pair.url)).toMatchObject({ visible: 5 });
    expect(await gauge(url, 'sqs_dlq_depth', queue)).toBe(0);
    expect(await gauge(url, 'sqs_dlq_alert', queue)).toBe(0);
    expect((await json(await fetch(`${url}/dlq`))).body).toMatchObject({ depth: 0, alert: false });
  });

  it('rejects a bad redrive request or limit with 400 naming the field, and moves nothing', async () => {
    const pair = await queuePair('monitor-invalid');
    const { url } = await start({ NOTIFICATIONS_QUEUE: queueName(pair.url), NOTIFICATIONS_DLQ: queueName(pair.dlqUrl) });
    await deadLetters(pair, 1);
    const rejected = async (response: Promise<Response>): Promise<string> => {
      const { status, body } = await json(await response);
      expect(status).toBe(400);
      return String((body['error'] as { message?: unknown } | undefined)?.message);
    };

    expect(await rejected(post(`${url}/dlq/redrive`, { method: 'teleport' }))).toMatch(/^method: /);
    expect(await rejected(post(`${url}/dlq/redrive`, { maxMessages: -1 }))).toMatch(/^maxMessages: /);
    expect(await rejected(post(`${url}/dlq/redrive`, { maxMessages: '5' }))).toMatch(/^maxMessages: /);
    expect(await rejected(post(`${url}/dlq/redrive`, { max_messages: 5 }))).toMatch(/^max_messages: unknown field/);
    expect(await rejected(post(`${url}/dlq/redrive`, { method: 'move-task', maxMessages: 1 }))).toMatch(/^maxMessages: /);
    expect(await rejected(post(`${url}/dlq/redrive`, ['receive-send-delete']))).toMatch(/^body: /);
    expect(await rejected(fetch(`${url}/dlq/messages?limit=abc`))).toBe('limit: expected an integer from 1 to 100, got "abc"');
    expect(await rejected(fetch(`${url}/dlq/messages?limit=101`))).toMatch(/^limit: /);

    expect(await queueDepth(suite.resources.sqs, pair.dlqUrl)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
  });
});
