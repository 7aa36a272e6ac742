import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { TestResources, uniqueName } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * Each service has a budget of requests (RATE_LIMIT_PER_SECOND sustained,
 * RATE_LIMIT_BURST at once, per replica): beyond it POST /metrics is a 429
 * with Retry-After and nothing is produced; other services are not affected.
 */
const issuer = 'https://auth.test';
const audience = 'metrics-ingest';

describe('metrics-ingest budgets requests per service (in process, real Kafka)', () => {
  let resources: TestResources;
  let app: NestExpressApplication;
  let url: string;
  let tokenFor: (serviceId: string) => Promise<string>;

  beforeAll(async () => {
    resources = new TestResources();
    const topic = await resources.topic('metrics-raw-budget', 1);
    const keys = await generateKeyPair('RS256', { extractable: true });
    const config = loadConfig(configSchema, {
      KAFKA_BROKERS: resources.env.KAFKA_BROKERS.join(','),
      AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey),
      AUTH_JWT_ISSUER: issuer,
      AUTH_JWT_AUDIENCE: audience,
      METRICS_RAW_TOPIC: topic,
      ALERTING_GROUP_ID: uniqueName('no-such-group'),
      RATE_LIMIT_PER_SECOND: '0.2',
      RATE_LIMIT_BURST: '5',
    });
    const service = uniqueName('metrics-ingest');
    app = await createHttpApp({ config, service, logger: createLogger({ service, level: 'silent' }) });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/metrics`;
    tokenFor = (serviceId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject(serviceId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime('5m')
        .sign(keys.privateKey);
  });

  afterAll(async () => {
    await app?.close();
    await resources?.cleanup();
  });

  const send = async (serviceId: string) =>
    fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenFor(serviceId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ points: [{ serviceId, name: 'up', value: 1, timestamp: Date.now() }] }),
    });

  it("answers 429 with Retry-After beyond a service's burst, while another service's points are still accepted", async () => {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await send('checkout')).status);
    const refused = await send('checkout');
    const other = await send('billing');

    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    expect({ status: refused.status, retryAfter: Number(refused.headers.get('retry-after')) }).toEqual({ status: 429, retryAfter: 5 });
    expect(await refused.json()).toEqual({ error: { code: 'INGEST.RATE_LIMITED', message: expect.stringContaining('budget') } });
    expect(other.status).toBe(202);
  });
});
