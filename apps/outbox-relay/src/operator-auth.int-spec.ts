import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { loadConfig } from '@qls/config';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { type OperatorTokens, TestResources, operatorTokens, uniqueName } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/**
 * Operators are authenticated and authorized (docs/contracts.md, "Operator
 * actions"): the outbox's operator endpoints answer operator tokens only,
 * reads need ops:read and the retry ops:write, the retry touches exactly what
 * it names ("all" only when said), and every retry is an audit line.
 */
describe('outbox-relay operator endpoints (in process, real Postgres)', () => {
  let resources: TestResources;
  let pool: Pool;
  let app: INestApplication;
  let base: string;
  let ops: OperatorTokens;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    resources = new TestResources();
    let schema: string;
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(join(__dirname, '../../../infra/migrations')));
    ops = await operatorTokens();
    const databaseUrl = new URL(resources.env.DATABASE_URL);
    databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
    const config = loadConfig(configSchema, { ...process.env, ...ops.env, DATABASE_URL: databaseUrl.toString(), LOG_LEVEL: 'info' });
    const service = uniqueName('outbox-relay');
    const destination = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
    app = await createNestApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'info', destination }) }));
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await resources?.cleanup();
  });

  async function park(count: number): Promise<string[]> {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination, parked_at)
       SELECT 'thing', 't-' || n, 'ThingHappened.v1', '{}', 'sqs:${uniqueName('nowhere')}', now() FROM generate_series(1, $1) n RETURNING id`,
      [count],
    );
    return rows.map((r) => r.id);
  }

  const parkedCount = async () => Number((await pool.query(`SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL`)).rows[0].count);

  const retry = (body: string, headers: Record<string, string>) => fetch(`${base}/outbox/parked/retry`, { method: 'POST', headers, body });

  it.each([
    ['GET', '/outbox/stats'],
    ['GET', '/outbox/parked'],
    ['POST', '/outbox/parked/retry'],
  ])('refuses %s %s without a token, with a garbage one and with a user token', async (method, path) => {
    const user = await ops.token('user-1', '', 'notification-api');
    const statuses = [];
    for (const authorization of [undefined, 'Bearer not.a.token', `Bearer ${user}`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers['authorization'] = authorization;
      const response = await fetch(`${base}${path}`, { method, headers, ...(method === 'POST' ? { body: '{"all":true}' } : {}) });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401]);
  });

  it('answers reads to an operator with ops:read, and refuses them to an operator token without it', async () => {
    const reader = { authorization: `Bearer ${await ops.token('ada', 'ops:read')}` };
    const writerOnly = { authorization: `Bearer ${await ops.token('ada', 'ops:write')}` };

    expect((await fetch(`${base}/outbox/stats`, { headers: reader })).status).toBe(200);
    expect((await fetch(`${base}/outbox/parked`, { headers: reader })).status).toBe(200);
    expect((await fetch(`${base}/outbox/stats`, { headers: writerOnly })).status).toBe(403);
  });

  it('refuses a retry to an operator with ops:read only, and retries nothing', async () => {
    await park(2);
    const before = await parkedCount();
    const response = await retry('{"all":true}', {
      authorization: `Bearer ${await ops.token('ada', 'ops:read')}`,
      'content-type': 'application/json',
    });

    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 403,
      body: { error: { code: 'AUTH.FORBIDDEN', message: expect.stringContaining('ops:write') } },
    });
    expect(await parkedCount()).toBe(before);
  });

  it.each([
    ['an empty object', '{}', 'application/json', 400],
    ['an empty array', '[]', 'application/json', 400],
    ['a misspelt field', '{"id": ["1"]}', 'application/json', 400],
    ['ids and all together', '{"ids": ["1"], "all": true}', 'application/json', 400],
    ['"all": false', '{"all": false}', 'application/json', 400],
    ['a JSON body sent as text/plain', '{"all": true}', 'text/plain', 415],
    ['no body and no type', '', '', 415],
  ])('retries nothing for %s', async (_what, body, type, status) => {
    await park(2);
    const before = await parkedCount();
    const headers = await ops.headers();
    if (type === '') delete headers['content-type'];
    else headers['content-type'] = type;

    const response = await retry(body, headers);

    expect(response.status).toBe(status);
    expect(await parkedCount()).toBe(before);
  });

  it("refuses an operator beyond their budget with 429 and Retry-After, while another operator's requests go through", async () => {
    const tight = loadConfig(configSchema, {
      ...process.env,
      ...ops.env,
      OPS_RATE_LIMIT_PER_SECOND: '0.1',
      OPS_RATE_LIMIT_BURST: '3',
      LOG_LEVEL: 'silent',
    });
    const service = uniqueName('outbox-relay');
    const limited = await createNestApp(AppModule.register({ config: tight, service, logger: createLogger({ service, level: 'silent' }) }));
    try {
      await limited.listen(0, '127.0.0.1');
      const stats = `http://127.0.0.1:${(limited.getHttpServer().address() as AddressInfo).port}/outbox/stats`;
      const ada = { authorization: `Bearer ${await ops.token('ada', 'ops:read')}` };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(stats, { headers: ada })).status);
      const refused = await fetch(stats, { headers: ada });
      const other = await fetch(stats, { headers: { authorization: `Bearer ${await ops.token('grace', 'ops:read')}` } });

      expect(statuses).toEqual([200, 200, 200, 429]);
      expect({ status: refused.status, retryAfter: Number(refused.headers.get('retry-after')) }).toEqual({ status: 429, retryAfter: 10 });
      expect(other.status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('retries exactly the rows named, or every parked row with "all": true, and logs each as an audit line', async () => {
    const [first, second] = await park(2);
    const named = await retry(JSON.stringify({ ids: [first] }), await ops.headers());
    expect({ status: named.status, body: await named.json() }).toEqual({ status: 200, body: { retried: 1 } });
    const { rows } = await pool.query(`SELECT id FROM outbox WHERE id = ANY($1::bigint[]) AND parked_at IS NOT NULL`, [[first, second]]);
    expect(rows.map((r) => r.id)).toEqual([second]);

    const remaining = await parkedCount();
    const all = await retry('{"all": true}', await ops.headers());
    expect({ status: all.status, body: await all.json() }).toEqual({ status: 200, body: { retried: remaining } });
    expect(await parkedCount()).toBe(0);

    const audit = logLines.filter((line) => line['audit'] === true);
    expect(audit).toEqual([
      expect.objectContaining({ operator: 'ops-test', action: 'outbox.retry', request: { ids: [first] }, outcome: 'done', count: 1 }),
      expect.objectContaining({ operator: 'ops-test', action: 'outbox.retry', request: { all: true }, outcome: 'done', count: remaining }),
    ]);
  });
});
