import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { queueName } from '@qls/sqs';
import { TestResources } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

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
      LOG_LEVEL: 'silent',
      NOTIFICATIONS_QUEUE: queueName(queueUrl),
      NOTIFICATIONS_DLQ: queueName(dlqUrl),
    });
    app = await NestFactory.create(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      logger: false,
      abortOnError: false,
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
});
