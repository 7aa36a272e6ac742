import type { Pool } from 'pg';
import { type BuiltApi, type BuiltApiOptions, migrationsDir, startBuiltApi, stopApps } from './apps';
import { TestResources } from './servers';

export interface SuiteOptions {
  /** Fresh resources for each test (beforeEach/afterEach) instead of one set for the describe block. */
  readonly each?: boolean;
}

/** The resources of the enclosing describe block, readable once its before-hook ran. */
export interface Suite {
  readonly resources: TestResources;
}

/** Resources with a Postgres schema of their own, every migration applied. */
export interface MigratedSchema {
  readonly resources: TestResources;
  readonly pool: Pool;
  readonly schema: string;
  /** The test database with the schema on the search path, for an app under test. */
  readonly databaseUrl: string;
}

/** A suite with a migrated Postgres schema of its own. */
export type SchemaSuite = MigratedSchema;

/**
 * {@link TestResources} for the enclosing describe block: made before its
 * tests (each test, with `each`) and cleaned up after them. Whatever a test
 * starts on them it stops with `resources.onCleanup` (cleanups run newest
 * first, so an app closes before its schema is dropped).
 */
export function suiteResources(options: SuiteOptions = {}): Suite {
  let resources: TestResources | undefined;
  const [before, after] = options.each ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(() => {
    resources = new TestResources();
  });
  after(() => resources?.cleanup());
  return {
    get resources() {
      if (!resources) throw new Error('suiteResources: used outside a test or hook of its describe block');
      return resources;
    },
  };
}

/**
 * @qls/provisioning's migration functions. Passed in: the testing library
 * cannot import that project, whose own specs use this one.
 */
export interface Migrator<M> {
  migrate(pool: Pool, migrations: M): Promise<unknown>;
  readMigrations(dir: string): M;
}

/**
 * A Postgres schema of `resources`' own (dropped on cleanup) with every
 * migration of infra/migrations applied; for benchmarks and one-off setups
 * (a describe block uses {@link suiteSchema}).
 */
export async function migratedSchema<M>(resources: TestResources, migrator: Migrator<M>): Promise<MigratedSchema> {
  const database = await resources.postgres();
  await migrator.migrate(database.pool, migrator.readMigrations(migrationsDir));
  return { resources, ...database };
}

/**
 * {@link suiteResources} with a Postgres schema of the suite's own with every
 * migration of infra/migrations applied: `suiteSchema({ migrate, readMigrations })`.
 */
export function suiteSchema<M>(migrator: Migrator<M>, options: SuiteOptions = {}): SchemaSuite {
  const suite = suiteResources(options);
  let database: MigratedSchema | undefined;
  const before = options.each ? beforeEach : beforeAll;
  before(async () => {
    database = await migratedSchema(suite.resources, migrator);
  });
  const get = () => {
    if (!database) throw new Error('suiteSchema: used outside a test or hook of its describe block');
    return database;
  };
  return {
    get resources() {
      return suite.resources;
    },
    get pool() {
      return get().pool;
    },
    get schema() {
      return get().schema;
    },
    get databaseUrl() {
      return get().databaseUrl;
    },
  };
}

/** A suite running a built API against its migrated schema. */
export interface BuiltApiSuite extends SchemaSuite {
  readonly api: BuiltApi;
}

/**
 * {@link suiteSchema} and the built `app` as deployed ({@link startBuiltApi})
 * on that schema, started before the tests and stopped (its exit awaited)
 * before the schema is dropped.
 */
export function suiteBuiltApi<M>(
  app: string,
  migrator: Migrator<M>,
  options: Omit<BuiltApiOptions, 'databaseUrl' | 'schema'>,
): BuiltApiSuite {
  const db = suiteSchema(migrator);
  let api: BuiltApi | undefined;
  beforeAll(async () => {
    const started = await startBuiltApi(app, { databaseUrl: db.resources.env.DATABASE_URL, schema: db.schema, ...options });
    api = started;
    db.resources.onCleanup(() => stopApps([started.process]));
  });
  return {
    get resources() {
      return db.resources;
    },
    get pool() {
      return db.pool;
    },
    get schema() {
      return db.schema;
    },
    get databaseUrl() {
      return db.databaseUrl;
    },
    get api() {
      if (!api) throw new Error(`suiteBuiltApi: ${app} runs only within the tests of its describe block`);
      return api;
    },
  };
}
