import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthModule } from './health.module';
import { postgresReadiness, type ReadinessCheck } from './readiness';

const up = (name: string): ReadinessCheck => ({ name, check: () => Promise.resolve() });
const down = (name: string, reason: string): ReadinessCheck => ({ name, check: () => Promise.reject(new Error(reason)) });

describe('health endpoints', () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  async function start(checks: ReadinessCheck[], timeoutMs?: number): Promise<string> {
    app = await NestFactory.create(HealthModule.forRoot({ checks, timeoutMs }), { logger: false });
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  it('reports live while the process runs, even when a dependency is down', async () => {
    const url = await start([down('postgres', 'connection refused')]);

    const response = await fetch(`${url}/health/live`);
    expect(response.status).toBe(200);
  });

  it('reports ready when every check passes', async () => {
    const url = await start([up('postgres'), up('kafka')]);

    const response = await fetch(`${url}/health/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      failed: [],
      checks: { postgres: { status: 'up' }, kafka: { status: 'up' } },
    });
  });

  it('answers 503 naming the failed check and its reason', async () => {
    const url = await start([up('kafka'), down('postgres', 'connection refused')]);

    const response = await fetch(`${url}/health/ready`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      status: 'unavailable',
      failed: ['postgres'],
      checks: { kafka: { status: 'up' }, postgres: { status: 'down', error: 'connection refused' } },
    });
  });

  it('fails a check that does not answer within the timeout', async () => {
    const hangs: ReadinessCheck = { name: 'redis', check: () => new Promise(() => undefined) };
    const url = await start([hangs], 50);

    const response = await fetch(`${url}/health/ready`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ failed: ['redis'], checks: { redis: { error: 'no answer within 50 ms' } } });
  });
});

describe('postgresReadiness', () => {
  it('runs SELECT 1 on the pool', async () => {
    const queries: string[] = [];
    await postgresReadiness({ query: async (sql) => void queries.push(sql) }).check();

    expect(queries).toEqual(['SELECT 1']);
  });
});
