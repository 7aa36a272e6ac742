import { loadConfig } from '@qls/config';
import { createLogger, createNestApp } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { type OperatorTokens, listenLocally, operatorTokens, suiteSchema, uniqueName } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/**
 * Operators are authenticated and authorized (docs/contracts.md, "Operator
 * actions"): the outbox's operator endpoints answer operator tokens only,
 * reads need ops:read and the retry ops:write, the retry touches exactly what
 * it names ("all" only when said), and every retry is an audit line.
 */
describe('outbox-relay operator endpoints (in process, real Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let base: string;
  let ops: OperatorTokens;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    ops = await operatorTokens();
    const config = loadConfig(configSchema, { ...process.env, ...ops.env, DATABASE_URL: db.databaseUrl, LOG_LEVEL: 'info' });
    const service = uniqueName('outbox-relay');
    const destination = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
    const app = await createNestApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'info', destination }) }));
    db.resources.onCleanup(() => app.close());
    base = await listenLocally(app);
  });

  async function park(count: number): Promise<string[]> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination, parked_at)
       SELECT 'thing', 't-' || n, 'ThingHappened.v1', '{}', 'sqs:${uniqueName('nowhere')}', now() FROM generate_series(1, $1) n RETURNING id`,
      [count],
    );
    return rows.map((r) => r.id);
  }

  const parkedCount = async () => Number((await db.pool.query(`SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL`)).rows[0].count);

  const retry = (body: string, headers: Record<string, string>) => fetch(`${base}/outbox/parked/retry`, { method: 'POST', headers, body });

  it.each([
    ['GET', '/outbox/stats'],
    ['GET', '/outbox/parked'],
    ['POST', '/outbox/parked/retry'],
  ])('refuses %s %s without a token, with a garbage one and with a user token', async (method, path) => {
    expect(await ops.nonOperatorStatuses(`${base}${path}`, method, method === 'POST' ? '{"all":true}' : undefined)).toEqual([
      401, 401, 401,
    ]);
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
      const stats = `${await listenLocally(limited)}/outbox/stats`;
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
    const { rows } = await db.pool.query(`SELECT id FROM outbox WHERE id = ANY($1::bigint[]) AND parked_at IS NOT NULL`, [[first, second]]);
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
