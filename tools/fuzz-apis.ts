/**
 * Fuzzes every HTTP API against its own OpenAPI document (docs/api/<app>.json,
 * served at /openapi.json) with schemathesis: the built app runs as deployed
 * (startBuiltApi) on a free port, against a Postgres schema (and topics,
 * queues, consumer groups) of its own and the local servers, once with a
 * valid bearer token — a user's or a service's for the user APIs, an
 * operator's with ops:read and ops:write for the operator apps — and once
 * with none. A run
 * passes with 0 responses 5xx (`not_a_server_error`), 0 responses outside
 * their documented schema (`response_schema_conformance`) and 0 undocumented
 * statuses (`status_code_conformance`). CI's "fuzz APIs" step (tools/ci.ts),
 * after the apps are built and the servers are up:
 *
 *   npx tsx tools/fuzz-apis.ts [app...]
 *
 * schemathesis (PyPI, pinned in tools/schemathesis/requirements.txt) is
 * installed into tmp/schemathesis (git-ignored) on first use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { OPERATOR_AUDIENCE } from '@qls/http-api';
import { migrate, readMigrations } from '@qls/provisioning';
import { type BuiltApi, TestResources, startBuiltApi, uniqueName } from '@qls/testing';
import { isInCheckout } from '../infra/deploy/deploy-contract';

const root = join(__dirname, '..');
const venv = join(root, 'tmp', 'schemathesis');
const requirements = join(root, 'tools', 'schemathesis', 'requirements.txt');
const schemathesis = join(venv, 'bin', 'schemathesis');

/** Examples per operation and seconds per run: the whole step stays within a few minutes on 2 cores. */
const MAX_EXAMPLES = '40';
const MAX_SECONDS = { withToken: '25', withoutToken: '8' };
/** A longer or different search than CI's, e.g. `FUZZ_SCALE=8 FUZZ_SEED=7 npx tsx tools/fuzz-apis.ts feed-api`. */
const SCALE = Number(process.env['FUZZ_SCALE'] ?? '1');
const SEED = process.env['FUZZ_SEED'] ?? '1';
const ISSUER = 'fuzz';

interface Target {
  readonly app: string;
  /** An operator app: tokens for audience `qls-ops` with both operator scopes. */
  readonly operator?: boolean;
  /** More of the app's environment: topics, queues and groups of its own; rate limits out of the way (a fuzzer is one very busy caller). */
  env(resources: TestResources): Promise<Record<string, string>>;
}

const noUserLimit = { RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' };
const noOperatorLimit = { OPS_RATE_LIMIT_PER_SECOND: '100000', OPS_RATE_LIMIT_BURST: '100000' };

const targets: readonly Target[] = [
  { app: 'notification-api', env: async () => noUserLimit },
  { app: 'metrics-ingest', env: async (resources) => ({ METRICS_RAW_TOPIC: await resources.topic('fuzz-metrics-raw', 1) }) },
  { app: 'feed-api', env: async () => noUserLimit },
  { app: 'outbox-relay', operator: true, env: async () => noOperatorLimit },
  {
    app: 'notification-dlq-monitor',
    operator: true,
    env: async (resources) => {
      const { url, dlqUrl } = await resources.queue('fuzz-notifications', { maxReceiveCount: 3 });
      const name = (queueUrl: string | undefined) => queueUrl?.split('/').pop() ?? '';
      return { ...noOperatorLimit, NOTIFICATIONS_QUEUE: name(url), NOTIFICATIONS_DLQ: name(dlqUrl) };
    },
  },
  { app: 'stream-ops', operator: true, env: async () => noOperatorLimit },
  {
    app: 'metrics-storage',
    operator: true,
    env: async (resources) => ({
      ...noOperatorLimit,
      METRICS_RAW_TOPIC: await resources.topic('fuzz-metrics-raw', 1),
      STORAGE_DEAD_LETTER_TOPIC: await resources.topic('fuzz-metrics-dead-letter', 1),
      STORAGE_GROUP_ID: uniqueName('fuzz-storage'),
    }),
  },
  {
    app: 'metrics-dashboard',
    operator: true,
    env: async (resources) => ({
      ...noOperatorLimit,
      METRICS_TOPIC: await resources.topic('fuzz-metrics-raw', 1),
      DASHBOARD_GROUP_ID: uniqueName('fuzz-dashboard'),
    }),
  },
];

/** An operator token with both scopes, from the key the app trusts. */
async function operatorToken(api: BuiltApi): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({ scope: 'ops:read ops:write' })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('fuzz-operator')
    .setIssuer(ISSUER)
    .setAudience(OPERATOR_AUDIENCE)
    .setExpirationTime('10m')
    .sign(api.keys.privateKey);
}

function installed(): boolean {
  if (!existsSync(schemathesis)) return false;
  const pinned = /schemathesis==([\d.]+)/.exec(readFileSync(requirements, 'utf8'))?.[1];
  const version = spawnSync(schemathesis, ['--version'], { encoding: 'utf8' }).stdout;
  return pinned !== undefined && version.includes(pinned);
}

function install(): void {
  if (installed()) return;
  console.log(`installing schemathesis into ${venv}`);
  for (const [command, args] of [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirements]],
  ] as const) {
    const { status } = spawnSync(command, args, { stdio: 'inherit' });
    if (status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${status})`);
  }
}

/** One schemathesis run; true when every check held. */
function fuzz(api: BuiltApi, what: string, maxSeconds: string, headers: readonly string[]): boolean {
  console.log(`\n--- ${what}`);
  const { status } = spawnSync(
    schemathesis,
    [
      'run',
      `${api.url}/openapi.json`,
      '--checks',
      'not_a_server_error,response_schema_conformance,status_code_conformance',
      '--max-examples',
      String(Number(MAX_EXAMPLES) * SCALE),
      '--max-time',
      String(Number(maxSeconds) * SCALE),
      '--workers',
      '1',
      '--seed',
      SEED,
      '--suppress-health-check',
      'all',
      ...headers.flatMap((header) => ['--header', header]),
    ],
    // Run in the venv's directory: schemathesis keeps its example database in ./.schemathesis (git-ignored there).
    { cwd: venv, stdio: 'inherit', env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false', PYTHONUNBUFFERED: '1' } },
  );
  return status === 0;
}

async function fuzzApp(target: Target): Promise<boolean> {
  const resources = new TestResources();
  let api: BuiltApi | undefined;
  try {
    const { pool, schema } = await resources.postgres();
    await migrate(pool, readMigrations(join(root, 'infra', 'migrations')));
    api = await startBuiltApi(target.app, {
      databaseUrl: resources.env.DATABASE_URL,
      schema,
      issuer: ISSUER,
      audience: target.operator ? OPERATOR_AUDIENCE : target.app,
      env: await target.env(resources),
    });
    const served: unknown = await (await fetch(`${api.url}/openapi.json`)).json();
    const checkedIn: unknown = JSON.parse(readFileSync(join(root, 'docs', 'api', `${target.app}.json`), 'utf8'));
    if (!isDeepStrictEqual(served, checkedIn)) {
      console.log(`${target.app} serves an /openapi.json other than docs/api/${target.app}.json: run npm run openapi`);
      return false;
    }
    const token = target.operator ? await operatorToken(api) : await api.token(uniqueName('fuzz'));
    const withToken = fuzz(api, `${target.app} with a valid token`, MAX_SECONDS.withToken, [`Authorization: Bearer ${token}`]);
    const withoutToken = fuzz(api, `${target.app} without a token`, MAX_SECONDS.withoutToken, []);
    return withToken && withoutToken;
  } finally {
    api?.process.kill();
    await resources.cleanup();
  }
}

async function main(): Promise<void> {
  install();
  const only = process.argv.slice(2);
  const failed: string[] = [];
  // A fork that dropped a system fuzzes the apps it kept.
  for (const target of targets.filter((t) => isInCheckout(t.app) && (only.length === 0 || only.includes(t.app)))) {
    if (!(await fuzzApp(target))) failed.push(target.app);
  }
  console.log(failed.length === 0 ? '\nEvery API held its contract.' : `\nContract broken by: ${failed.join(', ')}`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
