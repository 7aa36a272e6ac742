import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { type UserTokens, listenLocally, suiteResources, uniqueName, userTokens } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * Each service has a budget of requests (RATE_LIMIT_PER_SECOND sustained,
 * RATE_LIMIT_BURST at once, per replica): beyond it POST /metrics is a 429
 * with Retry-After and nothing is produced; other services are not affected.
 */
describe('metrics-ingest budgets requests per service (in process, real Kafka)', () => {
  const suite = suiteResources();
  let url: string;
  let services: UserTokens;
  const tokenFor = (serviceId: string) => services.token(serviceId);

  beforeAll(async () => {
    const { resources } = suite;
    const topic = await resources.topic('metrics-raw-budget', 1);
    services = await userTokens('metrics-ingest');
    const config = loadConfig(configSchema, {
      KAFKA_BROKERS: resources.env.KAFKA_BROKERS.join(','),
      ...services.env,
      METRICS_RAW_TOPIC: topic,
      ALERTING_GROUP_ID: uniqueName('no-such-group'),
      RATE_LIMIT_PER_SECOND: '0.2',
      RATE_LIMIT_BURST: '5',
    });
    const service = uniqueName('metrics-ingest');
    const app = await createHttpApp({ config, service, logger: createLogger({ service, level: 'silent' }) });
    resources.onCleanup(() => app.close());
    url = `${await listenLocally(app)}/metrics`;
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
