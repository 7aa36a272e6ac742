import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@qls/config';
import { KafkaPublisher } from '@qls/kafka';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { listenLocally, operatorTokens, suiteResources, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

interface Started {
  readonly url: string;
  readonly app: INestApplication;
}

/**
 * The app in this process on port 0, its consumer group on a topic of the
 * test's own. It starts at the latest offsets, so each test produces only once
 * the app is ready (joined, partitions at their latest offsets).
 */
describe('metrics-dashboard (in process, real Kafka)', () => {
  const suite = suiteResources();
  let publisher: KafkaPublisher;
  let topic: string;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    publisher = new KafkaPublisher(suite.resources.kafka);
    suite.resources.onCleanup(() => publisher.close());
    suite.resources.onCleanup(async () => {
      for (const app of apps.splice(0)) await app.close();
    });
    topic = await suite.resources.topic('metrics-raw', 2);
  });

  async function start(groupId = uniqueName('dashboard')): Promise<Started> {
    const config = loadConfig(configSchema, {
      ...(await ops).env,
      KAFKA_BROKERS: suite.resources.env.KAFKA_BROKERS.join(','),
      METRICS_TOPIC: topic,
      DASHBOARD_GROUP_ID: groupId,
    });
    const service = uniqueName('metrics-dashboard');
    const app = await createJsonHttpApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
    });
    apps.push(app);
    const url = await listenLocally(app);
    await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, { description: 'the dashboard to be ready' });
    return { url, app };
  }

  async function get(url: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(url);
    return { status: response.status, body: await response.json() };
  }

  interface Point {
    readonly serviceId: string;
    readonly name: string;
    readonly value: number;
    readonly timestamp: number;
    readonly labels?: Record<string, string>;
  }

  /** Keyed by service, as metrics-ingest produces them: one service's points share a partition. */
  function publish(points: readonly Point[]): Promise<void> {
    return publisher.publish(
      topic,
      points.map((point) => ({ key: point.serviceId, body: encodeMetricPoint({ labels: {}, ...point }) })),
    );
  }

  it('shows the points per series on GET /dashboard/series and the services on GET /dashboard/services', async () => {
    const { url } = await start();
    const now = Date.now();
    await publish([
      ...[3, 1, 2].map((value, i) => ({
        serviceId: 'checkout',
        name: 'latency_ms',
        value,
        timestamp: now - 3_000 + i * 1_000,
        labels: { pod: 'a' },
      })),
      { serviceId: 'checkout', name: 'errors', value: 1, timestamp: now - 500 },
      { serviceId: 'payments', name: 'latency_ms', value: 7, timestamp: now - 1_500 },
    ]);

    const series = await waitFor(
      async () => {
        const { body } = await get(`${url}/dashboard/series`);
        const list = body as { count: number }[];
        return list.reduce((sum, s) => sum + s.count, 0) === 5 && list;
      },
      { description: 'the 5 points on GET /dashboard/series' },
    );
    expect(series).toEqual([
      expect.objectContaining({ seriesKey: 'checkout|errors', count: 1, last: { value: 1, timestamp: now - 500 } }),
      {
        seriesKey: 'checkout|latency_ms|pod=a',
        serviceId: 'checkout',
        name: 'latency_ms',
        labels: { pod: 'a' },
        last: { value: 2, timestamp: now - 1_000 },
        count: 3,
        min: 1,
        max: 3,
        avg: 2,
        rate: 3 / 60,
      },
      expect.objectContaining({ seriesKey: 'payments|latency_ms', count: 1, avg: 7 }),
    ]);
    expect((await get(`${url}/dashboard/series?serviceId=checkout&name=latency_ms`)).body).toEqual([series[1]]);
    expect(await get(`${url}/dashboard/services`)).toEqual({
      status: 200,
      body: [
        { serviceId: 'checkout', series: 2, lastSeen: now - 500 },
        { serviceId: 'payments', series: 1, lastSeen: now - 1_500 },
      ],
    });
    expect(await get(`${url}/dashboard/series?name=9lives`)).toMatchObject({
      status: 400,
      body: { error: { code: 'DASHBOARD.INVALID_QUERY', field: 'name' } },
    });

    expect(await get(`${url}/health/ready`)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { kafka: { status: 'up' }, consumer: { status: 'up' } } },
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/metrics_dashboard_records_consumed_total\{[^}]*\} 5\n/);
    expect(text).toMatch(/metrics_dashboard_series\{[^}]*\} 3\n/);
    expect(text).toMatch(/kafka_consumer_rebalances_total\{[^}]*group="dashboard-[^}]*\} 1\n/);
  });

  it('answers /dashboard/* to operators with ops:read only: no token, a garbage or a user token is a 401, ops:write alone a 403', async () => {
    const { url } = await start();

    for (const path of ['/dashboard/series', '/dashboard/services']) {
      expect(await (await ops).refusals(`${url}${path}`, 'ops:read')).toEqual([401, 401, 401, 403]);
      expect((await globalThis.fetch(`${url}${path}`, { headers: await (await ops).headers('ops:read') })).status).toBe(200);
    }
  });

  it('skips and counts a bad record while the points around it show', async () => {
    const { url } = await start();
    const now = Date.now();
    const good = (value: number) => ({
      key: 'billing',
      // Distinct timestamps: a second point of the series at the same one would be a duplicate (the first counts).
      body: encodeMetricPoint({ serviceId: 'billing', name: 'up', value, timestamp: now + value, labels: {} }),
    });
    await publisher.publish(topic, [
      good(1),
      { key: 'billing', body: '{not json' },
      { key: 'billing', body: JSON.stringify({ schemaVersion: 1, serviceId: 'billing', name: 'up', value: 'high', timestamp: now }) },
      good(3),
    ]);

    const [series] = await waitFor(
      async () => {
        const { body } = await get(`${url}/dashboard/series?serviceId=billing`);
        return (body as { count: number }[])[0]?.count === 2 && (body as unknown[]);
      },
      { description: 'both good points of billing' },
    );
    expect(series).toMatchObject({ seriesKey: 'billing|up', count: 2, min: 1, max: 3, last: { value: 3 } });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/metrics_dashboard_records_consumed_total\{[^}]*\} 4\n/);
    expect(text).toMatch(/metrics_dashboard_records_invalid_total\{reason="not-json"[^}]*\} 1\n/);
    expect(text).toMatch(/metrics_dashboard_records_invalid_total\{reason="schema"[^}]*\} 1\n/);
  });

  it('starts a restarted group at the latest offsets: what was produced while it was down is not shown', async () => {
    const groupId = uniqueName('dashboard');
    const first = await start(groupId);
    const now = Date.now();
    await publish([{ serviceId: 'restart', name: 'before', value: 1, timestamp: now }]);
    await waitFor(async () => ((await get(`${first.url}/dashboard/series?serviceId=restart`)).body as unknown[]).length === 1, {
      description: 'the point before the restart',
    });
    await first.app.close(); // leaves the group, its offsets committed
    apps.splice(apps.indexOf(first.app), 1);

    await publish([{ serviceId: 'restart', name: 'while_down', value: 2, timestamp: Date.now() }]);
    const second = await start(groupId);
    await publish([{ serviceId: 'restart', name: 'after', value: 3, timestamp: Date.now() }]);

    // Same key, same partition: had it resumed from the committed offset, while_down would show before after.
    const names = await waitFor(
      async () => {
        const list = (await get(`${second.url}/dashboard/series?serviceId=restart`)).body as { name: string }[];
        return list.length > 0 && list.map((s) => s.name);
      },
      { description: 'the point after the restart' },
    );
    expect(names).toEqual(['after']);
  });

  it('answers a bad request and an unknown route in the one error shape, { error: { code, message } }', async () => {
    const { url } = await start();
    const answer = async (response: Response) => ({ status: response.status, body: await response.json() });
    const shape = (status: number, code: string) => ({ status, body: { error: { code, message: expect.any(String) } } });

    expect(await answer(await fetch(`${url}/dashboard/services?serviceId=x`))).toMatchObject({
      status: 400,
      body: { error: { code: 'DASHBOARD.INVALID_QUERY', field: 'serviceId' } },
    });
    expect(await answer(await fetch(`${url}/nowhere`))).toEqual(shape(404, 'NOT_FOUND'));
    expect(
      await answer(await fetch(`${url}/nowhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": ' })),
    ).toEqual(shape(400, 'REQUEST.MALFORMED_JSON'));
  });
});
