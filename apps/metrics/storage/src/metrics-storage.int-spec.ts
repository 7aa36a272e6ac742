import { loadConfig } from '@qls/config';
import { KafkaPublisher } from '@qls/kafka';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { listenLocally, operatorTokens, suiteSchema, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

/**
 * The app in this process on port 0: its consumer on a topic and group of the
 * test's own, writing to a migrated schema of the test's own, and its read API.
 */
describe('metrics-storage (in process, real Kafka and Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let publisher: KafkaPublisher;
  let topic: string;
  let deadLetterTopic: string;

  beforeAll(async () => {
    publisher = new KafkaPublisher(db.resources.kafka);
    db.resources.onCleanup(() => publisher.close());
    [topic, deadLetterTopic] = await Promise.all([db.resources.topic('metrics-raw', 2), db.resources.topic('metrics-dead-letter', 1)]);
  });

  async function start(env: Record<string, string> = {}): Promise<string> {
    const config = loadConfig(configSchema, {
      ...(await ops).env,
      DATABASE_URL: db.resources.env.DATABASE_URL,
      KAFKA_BROKERS: db.resources.env.KAFKA_BROKERS.join(','),
      METRICS_RAW_TOPIC: topic,
      STORAGE_DEAD_LETTER_TOPIC: deadLetterTopic,
      STORAGE_GROUP_ID: uniqueName('storage'),
      SERIES_MAX_POINTS: '100',
      ...env,
    });
    const service = uniqueName('metrics-storage');
    const app = await createNestApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }), pool: db.pool }),
    );
    db.resources.onCleanup(() => app.close());
    return listenLocally(app);
  }

  async function json(response: Response): Promise<{ status: number; body: Record<string, unknown> }> {
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('stores what arrives on the topic and answers it on GET /series, oldest first', async () => {
    const url = await start();
    const base = Date.UTC(2025, 2, 1, 12);
    await publisher.publish(
      topic,
      Array.from({ length: 6 }, (_, i) => ({
        key: 'checkout',
        body: encodeMetricPoint({
          serviceId: 'checkout',
          name: 'latency_ms',
          value: i,
          timestamp: base + i * 1_000,
          labels: { pod: `p${i % 2}` },
        }),
      })),
    );

    const query = `serviceId=checkout&name=latency_ms&from=${base}&to=2025-03-01T12:00:05Z`;
    const answer = await waitFor(
      async () => {
        const found = await json(await fetch(`${url}/series?${query}`));
        return (found.body['points'] as unknown[]).length === 5 && found;
      },
      { description: 'the points on GET /series' },
    );
    expect(answer).toEqual({
      status: 200,
      body: {
        serviceId: 'checkout',
        name: 'latency_ms',
        from: '2025-03-01T12:00:00.000Z',
        to: '2025-03-01T12:00:05.000Z',
        points: Array.from({ length: 5 }, (_, i) => ({
          seriesKey: `checkout|latency_ms|pod=p${i % 2}`,
          labels: { pod: `p${i % 2}` },
          timestamp: base + i * 1_000,
          value: i,
        })),
        truncated: false,
      },
    });
    const limited = await json(await fetch(`${url}/series?${query}&limit=2`));
    expect(limited.body).toMatchObject({ truncated: true, points: [{ value: 0 }, { value: 1 }] });

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/metrics_storage_points_written_total\{[^}]*\} 6/);
    expect(text).toMatch(/metrics_storage_write_duration_seconds_count\{[^}]*\} [1-9]/);
    const ready = await json(await fetch(`${url}/health/ready`));
    expect(ready).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { postgres: { status: 'up' }, 'metric-points-schema': { status: 'up' }, kafka: { status: 'up' } } },
    });
  });

  it('answers /series to operators with ops:read only: no token, a garbage or a user token is a 401, ops:write alone a 403', async () => {
    const url = await start();
    const query = `${url}/series?serviceId=checkout&name=latency_ms`;

    expect(await (await ops).refusals(query, 'ops:read')).toEqual([401, 401, 401, 403]);
    expect((await globalThis.fetch(query, { headers: await (await ops).headers('ops:read') })).status).toBe(200);
  });

  it('answers 400 naming the parameter for a bad query', async () => {
    const url = await start();
    const errorOf = async (query: string) => {
      const { status, body } = await json(await fetch(`${url}/series?${query}`));
      expect(status).toBe(400);
      return body['error'];
    };

    expect(await errorOf('name=latency_ms')).toEqual({
      code: 'SERIES.INVALID_QUERY',
      field: 'serviceId',
      message: 'serviceId: is required',
    });
    expect(await errorOf('serviceId=checkout&name=latency_ms&from=last-week')).toMatchObject({ field: 'from' });
    expect(await errorOf('serviceId=checkout&name=latency_ms&limit=101')).toMatchObject({
      field: 'limit',
      message: 'limit: expected an integer from 1 to 100, got "101"',
    });
    expect(await errorOf('serviceId=checkout&name=latency_ms&name=other')).toMatchObject({ field: 'name' });
  });

  it('is not ready while its dead-letter topic does not exist, and says so', async () => {
    const url = await start({ STORAGE_DEAD_LETTER_TOPIC: uniqueName('no-such-topic') });

    const ready = await json(await fetch(`${url}/health/ready`));
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      failed: ['kafka'],
      checks: { kafka: { status: 'down', error: expect.stringMatching(/^missing topic\(s\): no-such-topic-/) } },
    });
  });
});
