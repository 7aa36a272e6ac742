import type { Pool, PoolClient } from 'pg';

/**
 * Least privilege in Postgres: the migrations run as the owner of the database
 * and its schema (the `DATABASE_URL` of `provision`); every app connects as a
 * role of its own that owns nothing, so it can run no DDL, cannot DROP or
 * TRUNCATE, and reads and writes only the tables below. The grants follow the
 * statements each app's code runs (read them before changing this table):
 * RETURNING, ON CONFLICT … DO UPDATE and UPDATE … WHERE read rows, hence SELECT;
 * SELECT … FOR UPDATE needs UPDATE. Sequences of the tables an app inserts into
 * are granted with them. LISTEN/NOTIFY, advisory locks and the system catalogs
 * need no grant.
 *
 * metric_points is partitioned by day: metrics-storage creates and drops the
 * partitions through two SECURITY DEFINER functions owned by the migration role
 * (migration 0008), so it needs neither ownership of the table nor CREATE on
 * the schema.
 */
type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

export interface AppDatabaseGrants {
  /** Tables (and views) and what the app does with them. */
  readonly tables: Readonly<Record<string, readonly Privilege[]>>;
  /** Functions the app calls, with their argument types. */
  readonly functions?: readonly string[];
}

const outboxWriter = { outbox: ['SELECT', 'INSERT'] } as const; // enqueue(): INSERT … RETURNING id, event_id
const feedGraph = { feed_users: ['SELECT', 'UPDATE'], follows: ['SELECT'], posts: ['SELECT'] } as const;

export const APP_DATABASE_GRANTS = {
  'notification-api': { tables: { notifications: ['SELECT', 'INSERT'], ...outboxWriter } },
  'notification-worker': { tables: { notifications: ['SELECT', 'UPDATE'], provider_sends: ['SELECT', 'INSERT'] } },
  'outbox-relay': { tables: { outbox: ['SELECT', 'UPDATE', 'DELETE'], outbox_buckets: ['SELECT', 'UPDATE'] } },
  'metrics-storage': {
    tables: { metric_points: ['SELECT', 'INSERT'] }, // ON CONFLICT DO NOTHING: the first point stays
    functions: ['ensure_metric_points_partitions(date, integer)', 'drop_metric_points_partitions_before(date)'],
  },
  'metrics-alerter': {
    tables: { alerter_checkpoints: ['SELECT', 'INSERT', 'UPDATE'], alerter_savepoints: ['SELECT', 'INSERT', 'DELETE'], ...outboxWriter },
  },
  'stream-ops': { tables: { alerter_checkpoints: ['SELECT', 'INSERT', 'UPDATE'], alerter_savepoints: ['SELECT'] } },
  'feed-api': {
    tables: {
      feed_users: ['SELECT', 'INSERT', 'UPDATE'],
      follows: ['SELECT', 'INSERT', 'DELETE'],
      posts: ['SELECT', 'INSERT', 'UPDATE'],
      post_search: ['SELECT'],
      post_stats_hourly: ['SELECT'],
      ...outboxWriter,
    },
  },
  'feed-fanout': { tables: feedGraph },
  'feed-fanout-worker': { tables: feedGraph },
  'feed-indexer': { tables: { post_search: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], post_analytics: ['SELECT', 'INSERT', 'UPDATE'] } },
} as const satisfies Record<string, AppDatabaseGrants>;

export type DatabaseApp = keyof typeof APP_DATABASE_GRANTS;
export const DATABASE_APPS = Object.keys(APP_DATABASE_GRANTS) as DatabaseApp[];

/** The variable that holds an app's own connection URL for `provision`: `DATABASE_URL_NOTIFICATION_API`. */
export function appDatabaseUrlVariable(app: DatabaseApp): string {
  return `DATABASE_URL_${app.toUpperCase().replaceAll('-', '_')}`;
}

export interface AppRole {
  readonly app: DatabaseApp;
  readonly role: string;
  readonly password: string;
}

/** The role and password in each app's URL; apps whose variable is unset are left out. */
export function appRolesFromEnv(env: Readonly<Record<string, unknown>>): AppRole[] {
  return DATABASE_APPS.flatMap((app) => {
    const raw = env[appDatabaseUrlVariable(app)];
    if (typeof raw !== 'string' || raw === '') return [];
    const url = new URL(raw);
    const role = decodeURIComponent(url.username);
    if (!role || !url.password) throw new Error(`${appDatabaseUrlVariable(app)} must name a role and its password`);
    return [{ app, role, password: decodeURIComponent(url.password) }];
  });
}

export interface RoleChange {
  readonly app: DatabaseApp;
  readonly role: string;
  readonly created: boolean;
}

/** Arbitrary constant: serialises concurrent provisioners' role changes (the migrations' lock is 7_201_601). */
const ROLES_LOCK = 7_201_602;

/**
 * Creates each app's role (or resets its password) and converges its grants
 * on the current schema to {@link APP_DATABASE_GRANTS}: whatever it held
 * before on the schema's tables, sequences and the granted functions is revoked
 * first, in the same transaction. Idempotent. Needs CREATEROLE (or superuser).
 */
export async function provisionAppRoles(pool: Pool, roles: readonly AppRole[]): Promise<RoleChange[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [ROLES_LOCK]);
    const changes: RoleChange[] = [];
    for (const { app, role, password } of roles) {
      changes.push({ app, role, created: await upsertRole(client, role, password) });
      await grant(client, role, APP_DATABASE_GRANTS[app]);
    }
    await client.query('COMMIT');
    return changes;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function upsertRole(client: PoolClient, role: string, password: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  // Only a superuser may restate SUPERUSER/REPLICATION on ALTER; a new role is created without them.
  const statement = rowCount
    ? 'ALTER ROLE %I LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L'
    : 'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L';
  const { rows } = await client.query<{ sql: string }>(`SELECT format('${statement}', $1::text, $2::text) AS sql`, [role, password]);
  await client.query(rows[0].sql);
  return !rowCount;
}

async function grant(client: PoolClient, role: string, grants: AppDatabaseGrants): Promise<void> {
  const { rows } = await client.query<{ role: string; schema: string; database: string }>(
    'SELECT quote_ident($1) AS role, quote_ident(current_schema()) AS schema, quote_ident(current_database()) AS database',
    [role],
  );
  const r = rows[0].role;
  const { schema, database } = rows[0];
  await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${r}`);
  await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${r}`);
  await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${r}`);
  await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${r}`);
  await client.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${schema} FROM ${r}`);
  for (const [table, privileges] of Object.entries(grants.tables)) {
    await client.query(`GRANT ${privileges.join(', ')} ON ${schema}.${ident(table)} TO ${r}`);
    if (!privileges.includes('INSERT')) continue;
    const sequences = await client.query<{ name: string }>(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) AS name
         FROM pg_depend d
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_namespace n ON n.oid = s.relnamespace
        WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass($1) AND d.deptype IN ('a', 'i')`,
      [`${schema}.${ident(table)}`],
    );
    for (const { name } of sequences.rows) await client.query(`GRANT USAGE ON SEQUENCE ${name} TO ${r}`);
  }
  for (const fn of grants.functions ?? []) await client.query(`GRANT EXECUTE ON FUNCTION ${schema}.${fn} TO ${r}`);
}

/** Names in APP_DATABASE_GRANTS are lower-case identifiers; anything else is a bug in that table. */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}
