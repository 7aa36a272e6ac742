import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { queueName } from '@qls/sqs';
import { answerOf, errorShape, listenLocally, operatorTokens, suiteResources, unknownRouteAnswers } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a 4xx echoes caller
 * input only as a short escaped excerpt, whatever its size or content.
 */
describe('notification-dlq-monitor echoes hostile input only as short excerpts (real ElasticMQ)', () => {
  const service = 'notification-dlq-monitor';
  const suite = suiteResources();
  let url: string;

  beforeAll(async () => {
    const { url: queueUrl, dlqUrl } = await suite.resources.queue('dlq-hostile', { maxReceiveCount: 3 });
    if (dlqUrl === undefined) throw new Error('TestResources made no DLQ');
    const config = loadConfig(configSchema, {
      ...process.env,
      ...(await ops).env,
      LOG_LEVEL: 'silent',
      NOTIFICATIONS_QUEUE: queueName(queueUrl),
      NOTIFICATIONS_DLQ: queueName(dlqUrl),
    });
    const app = await createJsonHttpApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
    });
    suite.resources.onCleanup(() => app.close());
    url = await listenLocally(app);
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
    expect(await answerOf(await fetch(`${url}/dlq/messages?limit=0`))).toEqual(errorShape(400, 'REQUEST.INVALID'));
    expect(await unknownRouteAnswers(url, fetch)).toEqual([errorShape(404, 'NOT_FOUND'), errorShape(400, 'REQUEST.MALFORMED_JSON')]);
  });
});
