import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type CryptoKey, SignJWT, exportSPKI, generateKeyPair } from 'jose';
import type { Admin, KafkaMessage } from 'kafkajs';
import { loadConfig } from '@qls/config';
import { KafkaPublisher } from '@qls/kafka';
import { parseMetricPoint } from '@qls/metrics-contracts';
import { createLogger } from '@qls/observability';
import { type TestTelemetry, startTestTelemetry } from '@qls/observability/testing';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * The app in this process on port 0 against the local Kafka, each test app
 * with a topic of its own and a key pair made here: the tests sign their own
 * service tokens and read what was produced straight from the topic.
 */
const issuer = 'https://auth.test';
const audience = 'metrics-ingest';
const BODY_LIMIT = 4096;

interface ErrorAnswer {
  code: string;
  message: string;
  field?: string;
}

describe('metrics-ingest (in process, real Kafka)', () => {
  let resources: TestResources;
  let telemetry: TestTelemetry;
  let admin: Admin;
  let privateKey: CryptoKey;
  let publicKeyPem: string;
  const apps: NestExpressApplication[] = [];

  beforeAll(async () => {
    telemetry = startTestTelemetry();
    resources = new TestResources();
    admin = resources.kafka.admin();
    await admin.connect();
    const keys = await generateKeyPair('RS256', { extractable: true });
    privateKey = keys.privateKey;
    publicKeyPem = await exportSPKI(keys.publicKey);
  });

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
    await admin?.disconnect();
    await resources?.cleanup();
    await telemetry?.shutdown();
  });

  async function start(env: Record<string, string>): Promise<string> {
    const config = loadConfig(configSchema, {
      KAFKA_BROKERS: resources.env.KAFKA_BROKERS.join(','),
      AUTH_JWT_PUBLIC_KEYS: publicKeyPem,
      AUTH_JWT_ISSUER: issuer,
      AUTH_JWT_AUDIENCE: audience,
      HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      ALERTING_GROUP_ID: uniqueName('no-such-group'),
      BACKPRESSURE_POLL_INTERVAL_MS: '200',
      ...env,
    });
    const service = uniqueName('metrics-ingest');
    const app = await createHttpApp({ config, service, logger: createLogger({ service, level: 'silent' }) });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }

  function token(sub: string, key = privateKey): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(sub)
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(key);
  }

  async function post(url: string, body: unknown, options: { as?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const auth = options.as === undefined ? {} : { authorization: `Bearer ${await token(options.as)}` };
    return fetch(`${url}/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth, ...options.headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async function errorOf(response: Response): Promise<ErrorAnswer> {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return ((await response.json()) as { error: ErrorAnswer }).error;
  }

  const points = (serviceId: string, count: number, from = Date.now()) =>
    Array.from({ length: count }, (_, i) => ({ serviceId, name: 'http_requests', value: i, timestamp: from + i, labels: { route: '/x' } }));

  async function recordsOn(topic: string): Promise<number> {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  }

  async function readAll(topic: string, count: number): Promise<KafkaMessage[]> {
    const consumer = resources.kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
    const seen: KafkaMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
      await waitFor(() => seen.length >= count, { timeoutMs: 20_000, description: `${count} records on ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  describe('accepting and refusing points', () => {
    let topic: string;
    let url: string;

    beforeAll(async () => {
      topic = await resources.topic('ingest', 3);
      url = await start({ METRICS_RAW_TOPIC: topic, INGEST_MAX_POINTS_PER_REQUEST: '20' });
    });

    it('answers 202 with the count once Kafka acknowledged the points, keyed by serviceId, carrying the caller’s trace', async () => {
      const traceId = 'a'.repeat(31) + '1';
      const sent = [...points('checkout', 3)];
      const response = await post(
        url,
        { points: sent },
        { as: 'checkout', headers: { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` } },
      );

      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ accepted: 3 });
      // Acknowledged before the answer: the records are already on the topic.
      expect(await recordsOn(topic)).toBe(3);
      const records = await readAll(topic, 3);
      expect(records.map((r) => r.key?.toString())).toEqual(['checkout', 'checkout', 'checkout']);
      expect(records.map((r) => parseMetricPoint(r.value?.toString() ?? ''))).toEqual(sent.map((p) => ({ schemaVersion: 1, ...p })));
      for (const record of records) expect(record.headers?.['traceparent']?.toString()).toMatch(new RegExp(`^00-${traceId}-`));
      expect(
        telemetry
          .spans()
          .find((s) => s.name === 'POST /metrics')
          ?.spanContext().traceId,
      ).toBe(traceId);
    });

    it('refuses bad points with 400 naming the field and the index, and produces none of the batch', async () => {
      const before = await recordsOn(topic);
      const bad = points('checkout', 5);
      const invalid = await post(url, { points: bad.map((p, i) => (i === 3 ? { ...p, value: 'high' } : p)) }, { as: 'checkout' });
      expect(invalid.status).toBe(400);
      expect(await errorOf(invalid)).toMatchObject({ code: 'METRICS.VALIDATION_FAILED', field: 'points[3].value' });

      const unknown = await post(url, { points: [{ ...bad[0], unit: 'ms' }] }, { as: 'checkout' });
      expect(await errorOf(unknown)).toEqual({
        code: 'METRICS.VALIDATION_FAILED',
        field: 'points[0].unit',
        message: 'points[0].unit: unknown field',
      });

      const tooMany = await post(url, { points: points('checkout', 21) }, { as: 'checkout' });
      expect(await errorOf(tooMany)).toMatchObject({ field: 'points', message: 'points: expected at most 20 points, got 21' });

      const malformed = await post(url, '{"points": [', { as: 'checkout' });
      expect(malformed.status).toBe(400);
      expect(await errorOf(malformed)).toMatchObject({ code: 'REQUEST.MALFORMED_JSON' });

      expect(await recordsOn(topic)).toBe(before);
    });

    it('answers 413 to a body over HTTP_BODY_LIMIT_BYTES, before looking at the token', async () => {
      const big = { points: points('checkout', 20).map((p) => ({ ...p, labels: { padding: 'x'.repeat(190) } })) };
      expect(JSON.stringify(big).length).toBeGreaterThan(BODY_LIMIT);

      const response = await post(url, big);
      expect(response.status).toBe(413);
      expect(await errorOf(response)).toMatchObject({
        code: 'REQUEST.TOO_LARGE',
        message: `request body is larger than ${BODY_LIMIT} bytes`,
      });
    });

    it('answers 401 without a valid token and 403 naming the first point of another service', async () => {
      const before = await recordsOn(topic);
      const missing = await post(url, { points: points('checkout', 1) });
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');

      const forged = await post(
        url,
        { points: points('checkout', 1) },
        { headers: { authorization: `Bearer ${await token('checkout', (await generateKeyPair('RS256')).privateKey)}` } },
      );
      expect(forged.status).toBe(401);
      expect(await errorOf(forged)).toMatchObject({
        code: 'AUTH.UNAUTHENTICATED',
        message: 'invalid token: signature verification failed',
      });

      const foreign = await post(url, { points: [...points('checkout', 2), ...points('billing', 1)] }, { as: 'checkout' });
      expect(foreign.status).toBe(403);
      expect(await errorOf(foreign)).toMatchObject({ code: 'METRICS.SERVICE_MISMATCH', field: 'points[2].serviceId' });

      expect(await recordsOn(topic)).toBe(before);
    });

    it('counts points and requests by outcome in /metrics and reports Kafka ready', async () => {
      await post(url, { points: points('inventory', 4) }, { as: 'inventory' });
      await post(url, { points: points('billing', 2) }, { as: 'inventory' });

      const text = await (await fetch(`${url}/metrics`)).text();
      const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
      expect(value(/metrics_ingest_points_total\{[^}]*outcome="accepted"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(4);
      expect(value(/metrics_ingest_points_total\{[^}]*outcome="rejected"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/metrics_ingest_requests_total\{[^}]*outcome="METRICS.SERVICE_MISMATCH"[^}]*\} [1-9]/);
      expect(text).toMatch(/metrics_ingest_produce_batch_records_count\{[^}]*\} [1-9]/);
      expect(text).toMatch(/metrics_ingest_produce_duration_seconds_count\{[^}]*result="ok"[^}]*\} [1-9]/);

      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { kafka: { status: 'up' } } });
    });
  });

  describe('backpressure from the alerting group’s lag', () => {
    it('throttles with 429 and Retry-After, producing nothing, while the group lags; samples when so configured; lifts once it caught up', async () => {
      const topic = await resources.topic('lagging', 1);
      const alerting = uniqueName('alerting');
      const publisher = new KafkaPublisher(resources.kafka);
      try {
        // The alerter read the first record, then stopped while 30 more arrived.
        await publisher.publish(topic, [{ key: 'checkout', body: '{}' }]);
        await resources.catchUpGroup(alerting, topic);
        await publisher.publish(
          topic,
          Array.from({ length: 30 }, () => ({ key: 'checkout', body: '{}' })),
        );
      } finally {
        await publisher.close();
      }
      const common = {
        METRICS_RAW_TOPIC: topic,
        ALERTING_GROUP_ID: alerting,
        BACKPRESSURE_LAG_THRESHOLD: '20',
        HTTP_BODY_LIMIT_BYTES: '100000',
      };
      const throttling = await start({ ...common, BACKPRESSURE_POLICY: 'throttle', BACKPRESSURE_RETRY_AFTER_SECONDS: '3' });
      const sampling = await start({ ...common, BACKPRESSURE_POLICY: 'sample', BACKPRESSURE_SAMPLE_RATE: '0.5' });

      // The app read the lag before it took traffic.
      const throttled = await post(throttling, { points: points('checkout', 4) }, { as: 'checkout' });
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('3');
      expect(await errorOf(throttled)).toMatchObject({ code: 'METRICS.THROTTLED', message: expect.stringContaining('30 records behind') });
      expect(await recordsOn(topic)).toBe(31);

      const sampled = await post(sampling, { points: points('checkout', 200) }, { as: 'checkout' });
      expect(sampled.status).toBe(202);
      expect(sampled.headers.get('sampling')).toBe('rate=0.5');
      const { accepted, sampledOut } = (await sampled.json()) as { accepted: number; sampledOut: number };
      expect(accepted + sampledOut).toBe(200);
      expect(accepted).toBeGreaterThan(60);
      expect(accepted).toBeLessThan(140);
      expect(await recordsOn(topic)).toBe(31 + accepted);
      const text = await (await fetch(`${throttling}/metrics`)).text();
      expect(text).toMatch(/metrics_ingest_points_total\{[^}]*outcome="throttled"[^}]*\} [1-9]/);
      expect(text).toMatch(/metrics_ingest_alerting_lag_messages\{[^}]*\} 30/);
      expect(text).toMatch(/metrics_ingest_backpressure_active\{[^}]*policy="throttle"[^}]*\} 1/);

      await resources.catchUpGroup(alerting, topic);

      const lifted = await waitFor(
        async () => {
          const response = await post(throttling, { points: points('checkout', 4) }, { as: 'checkout' });
          return response.status === 202 ? response : (await response.body?.cancel(), false);
        },
        { description: 'a 202 once the alerter caught up' },
      );
      expect(await lifted.json()).toEqual({ accepted: 4 });
    });
  });
});
