import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { SqsPublisher, queueDepth, queueName } from '@qls/sqs';
import { type OperatorTokens, listenLocally, operatorTokens, suiteResources, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/**
 * Operators are authenticated and authorized (docs/contracts.md, "Operator
 * actions"): the DLQ's endpoints answer operator tokens only, a redrive needs
 * ops:write, moves exactly what it asks for ("all" only when said, JSON only)
 * and is an audit line. The app runs in this process against a queue pair of
 * its own on the local ElasticMQ.
 */
describe('notification-dlq-monitor operator endpoints', () => {
  const suite = suiteResources();
  let url: string;
  let pair: { url: string; dlqUrl: string };
  let ops: OperatorTokens;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const queues = await suite.resources.queue('monitor-ops', { maxReceiveCount: 3 });
    if (queues.dlqUrl === undefined) throw new Error('TestResources made no DLQ');
    pair = { url: queues.url, dlqUrl: queues.dlqUrl };
    ops = await operatorTokens();
    const config = loadConfig(configSchema, {
      ...process.env,
      ...ops.env,
      LOG_LEVEL: 'info',
      DLQ_POLL_INTERVAL_MS: '60000',
      NOTIFICATIONS_QUEUE: queueName(pair.url),
      NOTIFICATIONS_DLQ: queueName(pair.dlqUrl),
    });
    const service = uniqueName('notification-dlq-monitor');
    const destination = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
    const app = await createJsonHttpApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'info', destination }) }),
      {
        bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
      },
    );
    suite.resources.onCleanup(() => app.close());
    url = await listenLocally(app);
  });

  async function deadLetters(count: number): Promise<void> {
    const { dlq } = await depths();
    await new SqsPublisher(suite.resources.sqs).publish(
      pair.dlqUrl,
      Array.from({ length: count }, (_, i) => ({ body: JSON.stringify({ v: 99, n: i }), headers: { 'event-id': `evt-${i}` } })),
    );
    await waitFor(async () => (await depths()).dlq >= dlq + count, { description: 'dead letters in the DLQ' });
  }

  /** Messages in a queue: visible, in flight and delayed. */
  const depthOf = async (queueUrl: string) => {
    const { visible, inFlight, delayed } = await queueDepth(suite.resources.sqs, queueUrl);
    return visible + inFlight + delayed;
  };
  const depths = async () => ({ dlq: await depthOf(pair.dlqUrl), source: await depthOf(pair.url) });

  const redrive = (body: string, headers: Record<string, string>) => fetch(`${url}/dlq/redrive`, { method: 'POST', headers, body });

  it.each([
    ['GET', '/dlq'],
    ['GET', '/dlq/messages'],
    ['POST', '/dlq/redrive'],
  ])('refuses %s %s without a token, with a garbage one and with a user token', async (method, path) => {
    expect(await ops.nonOperatorStatuses(`${url}${path}`, method, method === 'POST' ? '{"all":true}' : undefined)).toEqual([401, 401, 401]);
  });

  it('answers reads to an operator with ops:read and refuses a redrive to it, moving nothing', async () => {
    await deadLetters(2);
    const before = await depths();
    const reader = { authorization: `Bearer ${await ops.token('ada', 'ops:read')}`, 'content-type': 'application/json' };

    expect((await fetch(`${url}/dlq`, { headers: reader })).status).toBe(200);
    expect((await fetch(`${url}/dlq/messages`, { headers: reader })).status).toBe(200);
    const refused = await redrive('{"all":true}', reader);

    expect(refused.status).toBe(403);
    expect(await depths()).toEqual(before);
  });

  it.each([
    ['{"maxMessages":1} sent as text/plain', '{"maxMessages":1}', 'text/plain', 415],
    ['an empty object', '{}', 'application/json', 400],
    ['an empty array', '[]', 'application/json', 400],
    ['a misspelt field', '{"max_messages":1}', 'application/json', 400],
    ['"all" together with maxMessages', '{"all":true,"maxMessages":1}', 'application/json', 400],
    ['"all": false', '{"all":false}', 'application/json', 400],
  ])('moves nothing for %s', async (_what, body, type, status) => {
    await deadLetters(2);
    const before = await depths();

    const response = await redrive(body, { ...(await ops.headers()), 'content-type': type });

    expect(response.status).toBe(status);
    expect(await depths()).toEqual(before);
  });

  it('moves at most maxMessages, moves everything only for "all": true, and logs each as an audit line', async () => {
    await deadLetters(3);
    const { dlq } = await depths();

    const one = await redrive('{"maxMessages":1}', await ops.headers());
    expect({ status: one.status, body: await one.json() }).toEqual({ status: 200, body: { moved: 1, method: 'receive-send-delete' } });
    expect((await depths()).dlq).toBe(dlq - 1);

    const all = await redrive('{"all":true}', await ops.headers());
    const allBody = (await all.json()) as { moved: number };
    expect(all.status).toBe(200);
    expect((await depths()).dlq).toBe(0);
    expect(allBody.moved).toBeGreaterThanOrEqual(dlq - 1);

    expect(logLines.filter((line) => line['audit'] === true)).toEqual([
      expect.objectContaining({ operator: 'ops-test', action: 'dlq.redrive', request: { maxMessages: 1 }, outcome: 'done', count: 1 }),
      expect.objectContaining({
        operator: 'ops-test',
        action: 'dlq.redrive',
        request: { all: true },
        outcome: 'done',
        count: allBody.moved,
      }),
    ]);
  });
});
