import { Pool } from 'pg';
import { BackgroundModule, createLogger } from '@qls/observability';
import { captureLogs, startModules } from '@qls/observability/testing';
import { freePort, suiteResources, waitFor } from '@qls/testing';
import { PostgresModule, type PostgresModuleOptions } from './index';

describe('PostgresModule (real Postgres)', () => {
  const suite = suiteResources({ each: true });
  const silent = createLogger({ service: 'postgres-module-test', level: 'silent' });

  async function start(
    options: Partial<PostgresModuleOptions> & Pick<PostgresModuleOptions, 'config'>,
    ...others: Parameters<typeof startModules>
  ) {
    const modules = await startModules(PostgresModule.forRoot({ logger: silent, ...options }), ...others);
    suite.resources.onCleanup(() => modules.close());
    return modules;
  }

  it('provides one pool on DATABASE_URL, with its statement timeout, and is ready when the schema has its tables', async () => {
    const { pool: setup, databaseUrl } = await suite.resources.postgres();
    await setup.query('CREATE TABLE outbox_buckets (id int)');
    const modules = await start({
      config: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 3 },
      statementTimeoutMs: 1_500,
      schema: { name: 'outbox-schema', tables: ['outbox_buckets'] },
    });

    const pool = modules.app.get(Pool);
    expect(pool.options.max).toBe(3);
    expect((await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout).toBe('1500ms');
    expect(await modules.readiness()).toEqual({
      status: 'ready',
      failed: [],
      checks: { postgres: { status: 'up' }, 'outbox-schema': { status: 'up' } },
    });
  });

  it('is not ready, naming the schema check, while provisioning has not made the tables', async () => {
    const { databaseUrl } = await suite.resources.postgres();
    const modules = await start({
      config: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 2 },
      schema: { name: 'outbox-schema', tables: ['outbox_buckets'] },
    });

    const report = await modules.readiness();
    expect(report.failed).toEqual(['outbox-schema']);
    expect(report.checks['outbox-schema']).toMatchObject({ status: 'down', error: expect.stringContaining('outbox_buckets') });
  });

  it('is not ready, naming postgres, when the server is unreachable', async () => {
    const url = new URL(suite.resources.env.DATABASE_URL);
    url.port = String(await freePort());
    const modules = await start({ config: { DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: 2 } });

    const report = await modules.readiness();
    expect(report.status).toBe('unavailable');
    expect(report.failed).toEqual(['postgres']);
  });

  it('ends the pool at shutdown only after the background tasks have stopped (they may still query while stopping)', async () => {
    const { databaseUrl } = await suite.resources.postgres();
    const events: string[] = [];
    const one = async (pool: Pool) => (await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one;
    const modules = await start(
      { config: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 2 } },
      BackgroundModule.run({
        inject: [Pool],
        useFactory: (pool) => ({
          start: async () => void events.push(`started: ${await one(pool)}`),
          stop: async () => void events.push(`stopped after its last query: ${await one(pool)}`),
        }),
      }),
    );
    const pool = modules.app.get(Pool);

    await modules.close();

    expect(events).toEqual(['started: 1', 'stopped after its last query: 1']);
    expect(pool.ended).toBe(true);
    await expect(pool.query('SELECT 1')).rejects.toThrow(/pool after calling end/);
  });

  it('leaves a pool it was given open: its caller closes it', async () => {
    const { pool: given } = await suite.resources.postgres();
    const modules = await start({ config: { DATABASE_URL: suite.resources.env.DATABASE_URL, DATABASE_POOL_SIZE: 2 }, pool: given });

    expect(modules.app.get(Pool)).toBe(given);
    await modules.close();

    expect(given.ended).toBe(false);
    expect((await given.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('logs an idle connection that fails instead of crashing, and the next query reconnects', async () => {
    const { databaseUrl, pool: admin } = await suite.resources.postgres();
    const logs = captureLogs();
    const modules = await start({
      config: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: 1 },
      logger: createLogger({ service: 'postgres-module-test', level: 'warn', destination: logs.destination }),
    });
    const pool = modules.app.get(Pool);
    const pid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

    await admin.query('SELECT pg_terminate_backend($1)', [pid]);

    await waitFor(() => logs.lines().some((line) => line['msg'] === 'idle Postgres connection failed'));
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
