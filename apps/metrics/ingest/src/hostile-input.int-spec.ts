import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { listenLocally, suiteResources, uniqueName, userTokens } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a point's timestamp lies
 * within the retention (30 days back) and a small skew into the future; its
 * label values are text Postgres can store. Otherwise 400 naming the field,
 * and nothing is produced.
 */
const DAY = 86_400_000;

describe('metrics-ingest answers hostile points with 400 (in process, real Kafka)', () => {
  const suite = suiteResources();
  let url: string;
  let authorization: string;

  beforeAll(async () => {
    const { resources } = suite;
    const topic = await resources.topic('metrics-raw-hostile', 1);
    const users = await userTokens('metrics-ingest');
    const config = loadConfig(configSchema, {
      KAFKA_BROKERS: resources.env.KAFKA_BROKERS.join(','),
      ...users.env,
      METRICS_RAW_TOPIC: topic,
      ALERTING_GROUP_ID: uniqueName('no-such-group'),
    });
    const service = uniqueName('metrics-ingest');
    const app = await createHttpApp({ config, service, logger: createLogger({ service, level: 'silent' }) });
    resources.onCleanup(() => app.close());
    url = `${await listenLocally(app)}/metrics`;
    authorization = `Bearer ${await users.token('checkout')}`;
  });

  const point = (overrides: Record<string, unknown>) => ({
    serviceId: 'checkout',
    name: 'latency_ms',
    value: 1,
    timestamp: Date.now(),
    ...overrides,
  });

  it.each([
    ['timestamp 0 (1970)', () => ({ timestamp: 0 }), 'points[1].timestamp'],
    ['a timestamp in year 275760', () => ({ timestamp: 8.64e15 }), 'points[1].timestamp'],
    ['a timestamp 31 days old (past retention)', () => ({ timestamp: Date.now() - 31 * DAY }), 'points[1].timestamp'],
    ['a timestamp an hour ahead', () => ({ timestamp: Date.now() + 3_600_000 }), 'points[1].timestamp'],
    ['a label value with a lone surrogate', () => ({ labels: { pod: 'p\ud800' } }), 'points[1].labels.pod'],
    ['a label value with NUL', () => ({ labels: { pod: 'p\u0000' } }), 'points[1].labels.pod'],
  ])('answers %s with 400 naming the field', async (_what, overrides, field) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ points: [point({}), point(overrides())] }),
    });

    const body = (await response.json()) as { error?: { code: string; field?: string } };
    expect({ status: response.status, field: body.error?.field }).toEqual({ status: 400, field });
  });

  it('accepts points from within the retention up to a small skew ahead', async () => {
    const now = Date.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ points: [point({ timestamp: now - 29 * DAY }), point({ timestamp: now + 30_000 })] }),
    });

    expect(response.status).toBe(202);
  });
});
