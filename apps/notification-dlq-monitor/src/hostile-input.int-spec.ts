import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { queueName } from '@qls/sqs';
import { TestResources, operatorTokens } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init: RequestInit = {}): Promise<Response> =>
  globalThis.fetch(url, {
    ...init,
    headers: { ...(await (await ops).headers()), ...(init.headers as Record<string, string> | undefined) },
  });

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a 4xx echoes caller
 * input only as a short escaped excerpt, whatever its size or content.
 */
describe('notification-dlq-monitor echoes hostile input only as short excerpts (real ElasticMQ)', () => {
  const service = 'notification-dlq-monitor';
  let resources: TestResources;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    resources = new TestResources();
    const { url: queueUrl, dlqUrl } = await resources.queue('dlq-hostile', { maxReceiveCount: 3 });
    if (dlqUrl === undefined) throw new Error('TestResources made no DLQ');
    const config = loadConfig(configSchema, {
      ...process.env,
      ...(await ops).env,
      LOG_LEVEL: 'silent',
      NOTIFICATIONS_QUEUE: queueName(queueUrl),
      NOTIFICATIONS_DLQ: queueName(dlqUrl),
    });
    app = await createJsonHttpApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await resources?.cleanup();
  });

  const hostile = `<script>${'x'.repeat(5_000)}`;

  it.each([
    ['a 5,000-character limit', () => fetch(`${url}/dlq/messages?limit=${encodeURIComponent(hostile)}`), 400],
    ['a 5,000-character message id', () => fetch(`${url}/dlq/messages/${encodeURIComponent(hostile)}`), 404],
    [
      'a 5,000-character unknown field',
      () =>
        fetch(`${url}/dlq/redrive`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ [hostile]: 1 }),
        }),
      400,
    ],
  ])('answers %s with a short message that does not echo it', async (_what, send, status) => {
    const response = await send();
    const text = await response.text();

    expect(response.status).toBe(status);
    expect(text.length).toBeLessThan(400);
    expect(text).not.toContain('<script>');
  });

  it('answers a bad request and an unknown route in the one error shape, { error: { code, message } }', async () => {
    const answer = async (response: Response) => ({ status: response.status, body: await response.json() });
    const shape = (status: number, code: string) => ({ status, body: { error: { code, message: expect.any(String) } } });

    expect(await answer(await fetch(`${url}/dlq/messages?limit=0`))).toEqual(shape(400, 'REQUEST.INVALID'));
    expect(await answer(await fetch(`${url}/nowhere`))).toEqual(shape(404, 'NOT_FOUND'));
    expect(
      await answer(await fetch(`${url}/nowhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": ' })),
    ).toEqual(shape(400, 'REQUEST.MALFORMED_JSON'));
  });
});
