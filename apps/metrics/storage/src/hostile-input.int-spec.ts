import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { answerOf, errorShape, listenLocally, operatorTokens, suiteSchema, uniqueName, unknownRouteAnswers } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a time Postgres cannot
 * hold is refused with 400 naming the parameter, never a 500.
 */
describe('metrics-storage answers hostile queries with 400 (in process, real Kafka and Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let baseUrl: string;

  beforeAll(async () => {
    const { resources, pool } = db;
    const [topic, deadLetterTopic] = await Promise.all([resources.topic('metrics-raw', 1), resources.topic('metrics-dead-letter', 1)]);
    const config = loadConfig(configSchema, {
      ...(await ops).env,
      DATABASE_URL: resources.env.DATABASE_URL,
      KAFKA_BROKERS: resources.env.KAFKA_BROKERS.join(','),
      METRICS_RAW_TOPIC: topic,
      STORAGE_DEAD_LETTER_TOPIC: deadLetterTopic,
      STORAGE_GROUP_ID: uniqueName('storage'),
    });
    const service = uniqueName('metrics-storage');
    const app: INestApplication = await createJsonHttpApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }), pool }),
      { bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES },
    );
    resources.onCleanup(() => app.close());
    baseUrl = await listenLocally(app);
  });

  it.each([
    ['from in year 0', { from: '0000-01-01T00:00:00Z' }, 'from'],
    ['from in year 1', { from: '0001-01-01T00:00:00Z' }, 'from'],
    ['to in year 275760', { to: '%2B275760-09-13T00:00:00Z' }, 'to'],
    ['to beyond year 9999 in epoch ms', { to: '8640000000000000' }, 'to'],
    ['from on February 30th', { from: '2026-02-30T00:00:00Z' }, 'from'],
    ['a lone surrogate in serviceId', { serviceId: '%ED%A0%80' }, 'serviceId'],
  ])('answers %s with 400 naming the parameter', async (_what, overrides: Record<string, string>, field) => {
    // Values as sent on the wire (already percent-encoded).
    const query = Object.entries({ serviceId: 'checkout', name: 'latency_ms', ...overrides }).map(([key, value]) => `${key}=${value}`);
    const response = await fetch(`${baseUrl}/series?${query.join('&')}`);

    const body = (await response.json()) as { error?: { code: string; field?: string } };
    expect({ status: response.status, field: body.error?.field }).toEqual({ status: 400, field });
  });

  it('answers a bad request and an unknown route in the one error shape, { error: { code, message } }', async () => {
    expect(await answerOf(await fetch(`${baseUrl}/series?name=latency_ms`))).toEqual({
      status: 400,
      body: { error: { code: 'SERIES.INVALID_QUERY', message: 'serviceId: is required', field: 'serviceId' } },
    });
    expect(await unknownRouteAnswers(baseUrl, fetch)).toEqual([errorShape(404, 'NOT_FOUND'), errorShape(400, 'REQUEST.MALFORMED_JSON')]);
  });
});
