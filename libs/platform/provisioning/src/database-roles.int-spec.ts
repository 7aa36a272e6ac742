import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { TestResources, startBuiltApi, uniqueName, waitFor } from '@qls/testing';
import { APP_DATABASE_GRANTS, type AppRole, DATABASE_APPS, type DatabaseApp, migrate, provisionAppRoles, readMigrations } from './index';

const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;

/**
 * Each app's statements, of every kind its code runs (libs/<app's libs>), as
 * its own role against a freshly migrated schema. Rows they need are seeded by
 * the owner first (see seed below).
 */
const STATEMENTS: Record<DatabaseApp, readonly string[]> = {
  'notification-api': [
    `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data)
       SELECT * FROM unnest(ARRAY[gen_random_uuid()], ARRAY['u2'], ARRAY['k2'], ARRAY['push'], ARRAY['welcome'], ARRAY['{}'::jsonb]) ON CONFLICT DO NOTHING`,
    `SELECT id, status FROM notifications WHERE user_id = 'u1' AND idempotency_key = 'k1'`,
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination)
       VALUES ('notification', 'n', 'NotificationRequested.v1', '{}', 'sqs:notifications') RETURNING id, event_id`,
  ],
  'notification-worker': [
    `UPDATE notifications SET status = 'sending', lease_token = gen_random_uuid(), lease_until = now() + interval '1 minute' WHERE user_id = 'u1' RETURNING id`,
    `SELECT id FROM notifications WHERE user_id = 'u1' FOR UPDATE`,
    `INSERT INTO provider_sends (notification_id, channel, idempotency_key, duplicate, payload)
       SELECT id, 'push', 'k1', false, '{}' FROM notifications WHERE user_id = 'u1'
       ON CONFLICT (channel, idempotency_key) WHERE NOT duplicate DO NOTHING RETURNING notification_id`,
    `SELECT pg_advisory_lock(hashtext('notification-reconciler')), pg_advisory_unlock(hashtext('notification-reconciler'))`,
  ],
  'outbox-relay': [
    `SELECT b.bucket FROM outbox_buckets b WHERE b.bucket < 4 FOR UPDATE OF b SKIP LOCKED`,
    `SELECT * FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 10`,
    `UPDATE outbox SET attempts = attempts + 1, last_error = 'x' WHERE aggregate_id = 'seed'`,
    `UPDATE outbox SET published_at = clock_timestamp() WHERE aggregate_id = 'seed' RETURNING extract(epoch FROM published_at - created_at)`,
    `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < now() + interval '1 day' LIMIT 10)`,
    `LISTEN outbox`,
  ],
  'metrics-storage': [
    `SELECT ensure_metric_points_partitions(current_date, 3) AS created`,
    `INSERT INTO metric_points (service_id, name, labels, series_key, ts, value)
       SELECT * FROM unnest(ARRAY['svc'], ARRAY['m'], ARRAY['{}'::jsonb], ARRAY['svc|m'], ARRAY[now()], ARRAY[1::float8])
       ON CONFLICT (series_key, ts) DO NOTHING`,
    `SELECT series_key, value FROM metric_points WHERE series_key = 'svc|m' AND ts > now() - interval '1 hour'`,
    `SELECT name FROM drop_metric_points_partitions_before(current_date + 1) AS name`,
  ],
  'metrics-alerter': [
    `INSERT INTO alerter_checkpoints (group_id, topic, partition, epoch) SELECT 'g', 't', p, 1 FROM unnest(ARRAY[1]) AS p
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET epoch = alerter_checkpoints.epoch + 1 RETURNING epoch`,
    `UPDATE alerter_checkpoints SET next_offset = 5, state = '{}' WHERE group_id = 'g' AND epoch >= 1`,
    `INSERT INTO alerter_savepoints (group_id, topic, partition, next_offset, state) VALUES ('g', 't', 1, 5, '{}') ON CONFLICT DO NOTHING`,
    `DELETE FROM alerter_savepoints WHERE group_id = 'g' AND taken_at < now() - interval '1 day'`,
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination)
       VALUES ('alert', 'a', 'AlertFired.v1', '{}', 'kafka:alerts') RETURNING id, event_id`,
  ],
  'stream-ops': [
    `SELECT c.next_offset, s.next_offset FROM alerter_checkpoints c LEFT JOIN alerter_savepoints s USING (group_id, topic, partition)`,
    `UPDATE alerter_checkpoints SET epoch = epoch + 1, updated_at = now() WHERE group_id = 'seed'`,
    `INSERT INTO alerter_checkpoints AS c (group_id, topic, partition, epoch, next_offset) VALUES ('seed', 't', 2, 1, 0)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET epoch = c.epoch + 1, next_offset = EXCLUDED.next_offset`,
  ],
  'feed-api': [
    `INSERT INTO feed_users (id, handle) VALUES ('bob', 'bob') ON CONFLICT DO NOTHING`,
    `INSERT INTO follows (followee_id, follower_id) VALUES ('alice', 'bob') ON CONFLICT DO NOTHING RETURNING created_at`,
    `UPDATE feed_users SET follower_count = follower_count + 1 WHERE id = 'alice' RETURNING follower_count`,
    `DELETE FROM follows WHERE followee_id = 'alice' AND follower_id = 'bob'`,
    `WITH p AS (INSERT INTO posts (id, author_id, body) VALUES (gen_random_uuid(), 'bob', 'hi') ON CONFLICT (id) DO NOTHING RETURNING *)
       SELECT p.id FROM p JOIN feed_users u ON u.id = p.author_id`,
    `SELECT author_id FROM posts WHERE author_id = 'alice' FOR UPDATE`,
    `UPDATE posts SET deleted_at = now() WHERE author_id = 'alice' RETURNING deleted_at`,
    `SELECT s.post_id FROM post_search s CROSS JOIN websearch_to_tsquery('simple', 'hi') q WHERE s.document @@ q`,
    `SELECT hour, posts FROM post_stats_hourly WHERE author_id = 'alice'`,
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination)
       VALUES ('post', 'p', 'PostCreated.v1', '{}', 'kafka:posts') RETURNING id, event_id`,
  ],
  'feed-fanout': [
    `SELECT f.follower_id FROM follows f JOIN feed_users u ON u.id = f.follower_id WHERE f.followee_id = 'alice'`,
    `SELECT id FROM posts WHERE author_id = 'alice' ORDER BY created_at DESC LIMIT 10`,
    `UPDATE feed_users SET merged_since = now(), pushed_until = greatest(pushed_until, now()) WHERE id = 'alice' AND merged_since IS NULL`,
  ],
  'feed-fanout-worker': [
    `SELECT follower_count, merged_since FROM feed_users WHERE id = 'alice'`,
    `SELECT p.created_at <= u.pushed_until FROM posts p JOIN feed_users u ON u.id = p.author_id`,
    `UPDATE feed_users SET pushed_until = greatest(pushed_until, now()) WHERE id = 'alice'`,
  ],
  'feed-indexer': [
    `WITH upserted AS (INSERT INTO post_search (post_id, author_id, body, created_at) VALUES (gen_random_uuid(), 'alice', 'hi', now())
         ON CONFLICT (post_id) DO UPDATE SET body = EXCLUDED.body RETURNING 1),
          deleted AS (DELETE FROM post_search WHERE author_id = 'nobody' RETURNING 1)
       SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM deleted)`,
    `INSERT INTO post_analytics (post_id, author_id, created_at, deleted) VALUES (gen_random_uuid(), 'alice', now(), false)
       ON CONFLICT (post_id) DO UPDATE SET deleted = true WHERE EXCLUDED.deleted AND NOT post_analytics.deleted`,
    `UPDATE post_analytics SET deleted = true WHERE author_id = 'nobody' AND NOT deleted RETURNING 1`,
  ],
};

const seed = [
  `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES (gen_random_uuid(), 'u1', 'k1', 'push', 'welcome', '{}')`,
  `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination) VALUES ('order', 'seed', 'OrderPlaced.v1', '{}', 'sqs:q')`,
  `INSERT INTO alerter_checkpoints (group_id, topic, partition, epoch, next_offset) VALUES ('seed', 't', 0, 1, 0)`,
  `INSERT INTO feed_users (id, handle) VALUES ('alice', 'alice')`,
  `INSERT INTO posts (id, author_id, body) VALUES (gen_random_uuid(), 'alice', 'hello')`,
];

describe('least-privilege database roles (real Postgres)', () => {
  const resources = new TestResources();
  let owner: Pool;
  let schema: string;
  let roles: AppRole[];
  const pools = new Map<DatabaseApp, Pool>();
  const started: ChildProcess[] = [];

  const roleUrl = ({ role, password }: AppRole) => {
    const url = new URL(resources.env.DATABASE_URL);
    url.username = role;
    url.password = password;
    return url.toString();
  };

  beforeAll(async () => {
    ({ pool: owner, schema } = await resources.postgres());
    await migrate(owner, readMigrations(join(__dirname, '../../../../infra/migrations')));
    for (const statement of seed) await owner.query(statement);
    // Roles are global to the server: unique names, dropped in afterAll.
    const suffix = uniqueName('r').replaceAll('-', '_');
    roles = DATABASE_APPS.map((app) => ({
      app,
      role: `qls_${app.replaceAll('-', '_')}_${suffix}`,
      password: randomBytes(12).toString('hex'),
    }));
    await provisionAppRoles(owner, roles);
    for (const role of roles) {
      pools.set(role.app, new Pool({ connectionString: roleUrl(role), max: 2, options: `-c search_path=${schema}` }));
    }
  });

  afterAll(async () => {
    for (const child of started) child.kill();
    await Promise.all([...pools.values()].map((pool) => pool.end()));
    const database = new URL(resources.env.DATABASE_URL).pathname.slice(1);
    const admin = new Pool({ connectionString: resources.env.DATABASE_URL, max: 1 });
    await resources.cleanup(); // drops the schema and with it every grant on its objects
    for (const { role } of roles ?? []) {
      await admin.query(`REVOKE ALL ON DATABASE "${database}" FROM "${role}"`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    }
    await admin.end();
  });

  const poolOf = (app: DatabaseApp) => pools.get(app) as Pool;

  it('gives each app exactly the table privileges it is granted, on this schema, and provisioning again changes nothing', async () => {
    const again = await provisionAppRoles(owner, roles);
    expect(again.filter((change) => change.created)).toEqual([]);
    const { rows: tables } = await owner.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition`,
      [schema],
    );
    const mismatches: string[] = [];
    for (const { app, role } of roles) {
      const granted: Record<string, readonly string[]> = APP_DATABASE_GRANTS[app].tables;
      for (const { name } of tables) {
        for (const privilege of PRIVILEGES) {
          const { rows } = await owner.query<{ has: boolean }>('SELECT has_table_privilege($1, $2, $3) AS has', [
            role,
            `${schema}.${name}`,
            privilege,
          ]);
          const expected = (granted[name] ?? []).includes(privilege);
          if (rows[0].has !== expected) mismatches.push(`${app} ${privilege} ${name}: ${rows[0].has}`);
        }
      }
      const { rows } = await owner.query<{ create: boolean; super: boolean }>(
        `SELECT has_schema_privilege($1, $2, 'CREATE') AS create, rolsuper AS super FROM pg_roles WHERE rolname = $1`,
        [role, schema],
      );
      if (rows[0].create || rows[0].super) mismatches.push(`${app} may create in the schema or is a superuser`);
    }
    expect(mismatches).toEqual([]);
  });

  it("refuses every app's role DROP, TRUNCATE, ALTER and CREATE TABLE, even on the tables it writes (permission denied)", async () => {
    const outcomes: string[] = [];
    for (const { app } of roles) {
      const table = Object.keys(APP_DATABASE_GRANTS[app].tables)[0];
      for (const statement of [
        `DROP TABLE ${table}`,
        `TRUNCATE ${table}`,
        `ALTER TABLE ${table} ADD COLUMN x int`,
        `CREATE TABLE ${app.replaceAll('-', '_')}_own (id int)`,
        `DROP TABLE schema_migrations`,
        `SELECT * FROM schema_migrations`,
      ]) {
        const error = await poolOf(app)
          .query(statement)
          .then(
            () => undefined,
            (e: { code?: string; message: string }) => e,
          );
        outcomes.push(
          `${app}: ${statement} → ${error ? `${error.code} ${/permission denied|must be owner/.test(error.message) ? 'denied' : error.message}` : 'ran'}`,
        );
      }
    }
    expect(outcomes.filter((outcome) => !outcome.endsWith('→ 42501 denied'))).toEqual([]);
    const { rows } = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications');
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it("runs every kind of statement each app's code runs under that app's own role", async () => {
    const failures: string[] = [];
    for (const { app } of roles) {
      for (const statement of STATEMENTS[app]) {
        await poolOf(app)
          .query(statement)
          .catch((error: Error) => failures.push(`${app}: ${error.message} in ${statement.split('\n')[0]}`));
      }
    }
    expect(failures).toEqual([]);
    // metrics-storage made and dropped day partitions through the definer functions; the owner still owns them all.
    const { rows } = await owner.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass`,
      [`${schema}.metric_points`],
    );
    expect(rows.map((row) => row.owner)).toEqual([new URL(resources.env.DATABASE_URL).username]);
  });

  it('a role that is not metrics-storage cannot make or drop metric_points partitions', async () => {
    const error = await poolOf('feed-api')
      .query('SELECT drop_metric_points_partitions_before(current_date + 10)')
      .catch((e: { code?: string }) => e);
    expect(error).toMatchObject({ code: '42501' });
  });

  it('runs the notification system on its three roles: notification-api accepts, outbox-relay publishes, notification-worker sends', async () => {
    const { url: queueUrl, dlqUrl } = await resources.queue('roles-notifications', { maxReceiveCount: 10 });
    const queues = { NOTIFICATIONS_QUEUE: queueUrl.split('/').pop() ?? '', NOTIFICATIONS_DLQ: dlqUrl?.split('/').pop() ?? '' };
    // Only this test's events are pending: rows other tests left (for queues that do not exist) stay unsent.
    await owner.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');
    const as = (app: DatabaseApp) => ({ databaseUrl: roleUrl(roles.find((r) => r.app === app) as AppRole), schema, issuer: 'test' });
    const api = await startBuiltApi('notification-api', { ...as('notification-api'), audience: 'notification-api', env: queues });
    started.push(api.process);
    const relay = await startBuiltApi('outbox-relay', { ...as('outbox-relay'), audience: 'qls-ops' });
    started.push(relay.process);
    const worker = await startBuiltApi('notification-worker', { ...as('notification-worker'), audience: 'none', env: queues });
    started.push(worker.process);

    const headers = { authorization: `Bearer ${await api.token('carol')}`, 'content-type': 'application/json' };
    const response = await fetch(`${api.url}/notifications`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': 'role-test' },
      body: JSON.stringify({ userId: 'carol', channel: 'push', template: 'welcome', data: { n: 1 } }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await waitFor(async () => (await owner.query(`SELECT 1 FROM notifications WHERE id = $1 AND status = 'sent'`, [id])).rowCount === 1, {
      timeoutMs: 30_000,
      description: 'the notification sent through the three least-privilege roles',
    });
    expect(((await (await fetch(`${api.url}/notifications/${id}`, { headers })).json()) as { status: string }).status).toBe('sent');
    const { rows } = await owner.query<{ events: number; sends: number }>(
      `SELECT (SELECT count(*)::int FROM outbox WHERE aggregate_id = $1 AND published_at IS NOT NULL) AS events,
              (SELECT count(*)::int FROM provider_sends WHERE notification_id = $1::uuid) AS sends`,
      [id],
    );
    expect(rows[0]).toEqual({ events: 1, sends: 1 });

    const { SignJWT } = await import('jose');
    const operatorToken = await new SignJWT({ scope: 'ops:read' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('operator-1')
      .setIssuer('test')
      .setAudience('qls-ops')
      .setExpirationTime('5m')
      .sign(relay.keys.privateKey);
    const stats = await fetch(`${relay.url}/outbox/stats`, { headers: { authorization: `Bearer ${operatorToken}` } });
    expect(stats.status).toBe(200);
  });
});
