/**
 * The four local servers: which ports each binds, how to prepare and start it, and how to tell
 * that it is ready. infra.ts drives them all the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { type Settings } from './config.ts';
import { ensureInstalled, isRoot, javaCommand, pomProperty, resolveJars } from './install.ts';
import { commandSucceeds, kafkaApiVersions, redisPing, sqsListQueues } from './probes.ts';
import { JAEGER, PROMETHEUS } from './observability.ts';
import { type Launch, type OsUser, osUser, runToLog } from './procs.ts';

export const SERVER_NAMES = ['kafka', 'elasticmq', 'postgres', 'redis', 'jaeger', 'prometheus'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/** Files of one server under the data dir. */
export interface ServerHome {
  readonly dir: string;
  readonly logPath: string;
  readonly pidPath: string;
}

export interface Server {
  readonly name: ServerName;
  /** Started only when named (`./dev up` names it; the tests' servers-only mode does not). */
  readonly optional?: boolean;
  /** Every port the server binds: all must be free before it starts. */
  ports(s: Settings): number[];
  address(s: Settings): string;
  /** Installs what is missing, initialises the data dir once, and says how to start the server. */
  prepare(s: Settings, home: ServerHome): Promise<Launch>;
  /** One readiness probe with a real request. */
  ready(s: Settings): Promise<boolean>;
  /** Runs after each start, once the server is ready. */
  afterStart?(s: Settings, home: ServerHome): Promise<void>;
  /** The signal asking for a clean shutdown. */
  readonly stopSignal: NodeJS.Signals;
  /** Folders outside `home.dir` its process may run in (its pid is recognised as ours there too). */
  workDirs?(home: ServerHome): string[];
}

const HERE = import.meta.dirname;
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PROBE_TIMEOUT_MS = 2_000;

export const SERVERS: readonly Server[] = [
  {
    name: 'kafka',
    ports: (s) => [s.kafka.port, s.kafka.controllerPort],
    address: (s) => `127.0.0.1:${s.kafka.port} (controller 127.0.0.1:${s.kafka.controllerPort})`,
    prepare: prepareKafka,
    ready: (s) => kafkaApiVersions(s.kafka.port, PROBE_TIMEOUT_MS),
    stopSignal: 'SIGTERM',
  },
  {
    name: 'elasticmq',
    ports: (s) => [s.sqs.port],
    address: (s) => `http://127.0.0.1:${s.sqs.port}`,
    prepare: prepareElasticMq,
    ready: (s) => sqsListQueues(s.sqs.port, PROBE_TIMEOUT_MS),
    stopSignal: 'SIGTERM',
  },
  {
    name: 'postgres',
    ports: (s) => [s.postgres.port],
    address: (s) => `postgres://${s.postgres.user}@127.0.0.1:${s.postgres.port}/${s.postgres.database}`,
    workDirs: (home) => [postgresOutsideDir(home)],
    prepare: preparePostgres,
    ready: pgIsReady,
    afterStart: createAppRoleAndDatabase,
    // SIGTERM is Postgres's "smart" shutdown, which waits for every client to disconnect; SIGINT is "fast".
    stopSignal: 'SIGINT',
  },
  {
    name: 'redis',
    ports: (s) => [s.redis.port],
    address: (s) => `redis://127.0.0.1:${s.redis.port}`,
    prepare: prepareRedis,
    ready: (s) => redisPing(s.redis.port, PROBE_TIMEOUT_MS),
    stopSignal: 'SIGTERM',
  },
  JAEGER,
  PROMETHEUS,
];

async function prepareKafka(s: Settings, home: ServerHome): Promise<Launch> {
  const java = await javaCommand();
  const lib = await jars(s, 'kafka', 'kafka.version');
  const config = render('kafka/server.properties', join(home.dir, 'server.properties'), {
    BROKER_PORT: s.kafka.port,
    CONTROLLER_PORT: s.kafka.controllerPort,
    LOG_DIRS: join(home.dir, 'data'),
  });
  const classpath = ['-cp', join(lib, '*')];
  if (!existsSync(join(home.dir, 'data', 'meta.properties'))) {
    const format = [...classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', config];
    await runToLog({
      command: java,
      args: format,
      cwd: home.dir,
      logPath: home.logPath,
    });
  }
  const log4j = `-Dlog4j2.configurationFile=${join(HERE, 'kafka/log4j2.properties')}`;
  return {
    command: java,
    args: ['-Xmx512m', '-Xms256m', log4j, ...classpath, 'kafka.Kafka', config],
    cwd: home.dir,
    logPath: home.logPath,
  };
}

/** What `kafka-storage random-uuid` prints: 16 random bytes in URL-safe base64, never starting with "-". */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function prepareElasticMq(s: Settings, home: ServerHome): Promise<Launch> {
  const java = await javaCommand();
  const lib = await jars(s, 'elasticmq', 'elasticmq.version');
  const config = render('elasticmq/elasticmq.conf', join(home.dir, 'elasticmq.conf'), { SQS_PORT: s.sqs.port });
  const args = ['-Xmx256m', `-Dconfig.file=${config}`, '-cp', join(lib, '*'), 'org.elasticmq.server.Main'];
  return { command: java, args, cwd: home.dir, logPath: home.logPath };
}

async function preparePostgres(s: Settings, home: ServerHome): Promise<Launch> {
  const postgres = await ensureInstalled(join(PG_BIN, 'postgres'), 'postgresql-15');
  // initdb refuses to run as root, so as root the cluster belongs to Debian's postgres user.
  const user = isRoot() ? osUser('postgres') : undefined;
  const { root, pgdata, sockets } = await postgresLayout(home, user);
  await initCluster(pgdata, sockets, home, user);
  const args = [
    '-D',
    pgdata,
    '-p',
    String(s.postgres.port),
    '-k',
    sockets,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ];
  return {
    command: postgres,
    args,
    cwd: root,
    logPath: home.logPath,
    user,
  };
}

/** Where the cluster lives: its folder (the process's working directory), data and socket folders. */
interface PostgresLayout {
  readonly root: string;
  readonly pgdata: string;
  readonly sockets: string;
}

/**
 * As root, Postgres runs as the postgres OS user, which cannot enter a clone inside a folder
 * other users cannot traverse (root cloning into /root/…, a 0700 temp dir). Then the cluster
 * lives outside the clone, in a folder of that user under /var/tmp named after the data dir
 * (so clones never share one): `/var/tmp/qls-postgres-<hash>/{pgdata,run}`. Logs and the pid
 * file stay in the data dir (written by the manager, as root).
 */
export function postgresOutsideDir(home: ServerHome): string {
  return join('/var/tmp', `qls-postgres-${createHash('sha256').update(resolve(home.dir)).digest('hex').slice(0, 16)}`);
}

/**
 * The layout in use: the cluster outside the clone if one is there; else inside the data dir
 * when it holds one or the postgres user can enter it (every clone so far); else outside.
 */
async function postgresLayout(home: ServerHome, user: OsUser | undefined): Promise<PostgresLayout> {
  const inside = { root: home.dir, pgdata: join(home.dir, 'pgdata'), sockets: join(home.dir, 'run') };
  if (!user) return inside;
  const root = postgresOutsideDir(home);
  const outside = { root, pgdata: join(root, 'pgdata'), sockets: join(root, 'run') };
  if (existsSync(join(outside.pgdata, 'PG_VERSION'))) return outside;
  if (existsSync(join(inside.pgdata, 'PG_VERSION')) || (await canEnter(home.dir, user))) return inside;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = lstatSync(root);
  if (!stat.isDirectory() || (stat.uid !== 0 && stat.uid !== user.uid)) {
    throw new Error(`${root} is not a folder of root or ${user.name}: remove it and run up again`);
  }
  chownSync(root, user.uid, user.gid);
  return outside;
}

function canEnter(dir: string, user: OsUser): Promise<boolean> {
  return new Promise((resolve) => execFile('test', ['-x', dir], { uid: user.uid, gid: user.gid }, (error) => resolve(!error)));
}

function pgIsReady(s: Settings): Promise<boolean> {
  const args = ['-q', '-h', '127.0.0.1', '-p', String(s.postgres.port), '-t', '2'];
  return commandSucceeds(join(PG_BIN, 'pg_isready'), args, PROBE_TIMEOUT_MS + 1_000);
}

async function initCluster(pgdata: string, sockets: string, home: ServerHome, user: OsUser | undefined): Promise<void> {
  mkdirSync(sockets, { recursive: true });
  if (user) chownSync(sockets, user.uid, user.gid);
  const versionFile = join(pgdata, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const version = readFileSync(versionFile, 'utf8').trim();
    if (version !== '15')
      throw new Error(`${pgdata} holds a Postgres ${version} cluster; this needs 15 (delete ${dirname(pgdata)} to start over)`);
    return;
  }
  // No PG_VERSION means no cluster or a half-written one: initdb wants an empty directory.
  rmSync(pgdata, { recursive: true, force: true });
  mkdirSync(pgdata, { mode: 0o700 });
  if (user) {
    chownSync(pgdata, user.uid, user.gid);
    await assertReachable(pgdata, user);
  }
  const args = ['-D', pgdata, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-locale'];
  await runToLog({
    command: join(PG_BIN, 'initdb'),
    args,
    cwd: home.dir,
    logPath: home.logPath,
    user,
  });
}

/** A private parent folder (mkdtemp makes them 0700) would stop the postgres user with an obscure error. */
function assertReachable(dir: string, user: OsUser): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('test', ['-w', dir], { uid: user.uid, gid: user.gid }, (error) =>
      error
        ? reject(new Error(`the ${user.name} OS user cannot write ${dir}: make its parent folders traversable (chmod o+x)`))
        : resolve(),
    );
  });
}

/**
 * The owner role and database from DATABASE_URL; re-applied each start so the URL stays the truth.
 * CREATEROLE: provision creates each app's own least-privilege role (libs/platform/provisioning database-roles.ts).
 */
async function createAppRoleAndDatabase(s: Settings, home: ServerHome): Promise<void> {
  const { sockets } = await postgresLayout(home, isRoot() ? osUser('postgres') : undefined);
  const sql = [
    `SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') THEN 'ALTER ROLE %I LOGIN CREATEROLE PASSWORD %L'`,
    `  ELSE 'CREATE ROLE %I LOGIN CREATEROLE PASSWORD %L' END, :'user', :'password') \\gexec`,
    `SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')`,
    `  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec`,
  ].join('\n');
  const { user, password, database, port } = s.postgres;
  const args = ['-X', '-q', '-h', sockets, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1'];
  const variables = ['-v', `user=${user}`, '-v', `password=${password}`, '-v', `db=${database}`];
  return new Promise((resolve, reject) => {
    const child = execFile(join(PG_BIN, 'psql'), [...args, ...variables], (error, _stdout, stderr) =>
      error ? reject(new Error(`creating role ${user} and database ${database} failed: ${stderr.trim() || error.message}`)) : resolve(),
    );
    child.stdin?.end(sql);
  });
}

async function prepareRedis(s: Settings, home: ServerHome): Promise<Launch> {
  const redis = await ensureInstalled('redis-server', 'redis-server');
  // In the foreground (we manage the process) and memory only: tests and provisioning refill it.
  const args = [
    '--port',
    String(s.redis.port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    home.dir,
  ];
  return { command: redis, args, cwd: home.dir, logPath: home.logPath };
}

function jars(s: Settings, name: string, versionProperty: string): Promise<string> {
  const pom = join(HERE, name, 'pom.xml');
  return resolveJars(pom, join(s.cacheDir, `${name}-${pomProperty(pom, versionProperty)}`, 'lib'));
}

/** Fills the {{NAME}} placeholders of a template next to this file and writes the result to `target`. */
function render(template: string, target: string, values: Record<string, string | number>): string {
  const text = readFileSync(join(HERE, template), 'utf8').replace(/\{\{(\w+)\}\}/g, (placeholder, key: string) => {
    if (!(key in values)) throw new Error(`${template}: no value for ${placeholder}`);
    return String(values[key]);
  });
  writeFileSync(target, text);
  return target;
}
