import { existsSync } from 'node:fs';
import { parse } from 'yaml';
import {
  type ComposeApp,
  parseReplicas,
  planProcesses,
  type ProcessPlan,
  readComposeApps,
  readComposeServices,
  readDotEnv,
} from '@qls/infra-local';
import { ONE_SHOT_APPS, appEnvFor, deployableApps, isInCheckout, repoPath, requiredAppEnv } from './deploy-contract';
import { composeConfig, composeDurationSeconds } from './deploy-tools';

/**
 * `./dev up` runs every app with docker-compose.yml's environment (infra/local/app-plan.ts), so
 * compose stays the one place an app's variables are written (k8s is held to it by the other
 * checks here). These hold the local copy to compose: the same variables, the same values, but
 * for the rules that point a value at this machine.
 */

const OTLP = 'http://127.0.0.1:4318';
let resolved: Record<string, { environment?: Record<string, string | number | null>; stop_grace_period?: string }>;
let composeApps: ComposeApp[];
let plan: ProcessPlan[];
let localEnv: Record<string, string>;

beforeAll(() => {
  const result = composeConfig('.env.example');
  if (result.status !== 0) throw new Error(`docker-compose config failed with .env.example:\n${result.stderr.trim()}`);
  resolved = (parse(result.stdout) as { services: typeof resolved }).services;
  localEnv = { ...readDotEnv(repoPath('infra/env/local.env')) };
  composeApps = readComposeApps(repoPath('docker-compose.yml'), readDotEnv(repoPath('.env.example')));
  plan = planProcesses(
    composeApps,
    {
      env: localEnv,
      otlpEndpoint: OTLP,
      portOffset: 0,
      replicas: parseReplicas(localEnv['QLS_REPLICAS']),
      composeServices: readComposeServices(repoPath('docker-compose.yml')),
    },
    repoPath(),
  );
});

const byApp = (app: string) => plan.filter((p) => p.app === app);
const composeEnv = (app: string): Record<string, string> =>
  Object.fromEntries(Object.entries(resolved[app]?.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]));
/** Variables whose value names a compose host (kafka:9092, http://notification-api:3000) or a path mounted into the container. */
const pointsAtCompose = (app: ComposeApp, value: string) =>
  /(^|[/@,])[a-z][a-z0-9-]*:\d+/.test(value) || app.binds.some(([, target]) => value === target || value.startsWith(`${target}/`));

describe('./dev up runs the apps with the environment of docker-compose.yml', () => {
  it('reads every app service as docker-compose itself resolves it (anchors, merge keys, ${VAR:?} from .env)', () => {
    for (const app of composeApps) expect([app.name, app.environment]).toEqual([app.name, composeEnv(app.name)]);
  });

  it('runs every long-running deployable app, and nothing else', () => {
    const oneShot: readonly string[] = ONE_SHOT_APPS;
    expect([...new Set(plan.map((p) => p.app))].sort()).toEqual(deployableApps().filter((app) => !oneShot.includes(app)));
  });

  it('sets exactly the variables compose sets, plus HOST=127.0.0.1 (compose sets it in the image)', () => {
    for (const p of plan) {
      const expected = Object.keys(composeEnv(p.app)).filter((key) => key !== 'OTEL_EXPORTER_OTLP_ENDPOINT' || p.env[key] !== undefined);
      expect([p.name, Object.keys(p.env).sort()]).toEqual([p.name, [...expected, 'HOST'].sort()]);
      expect(p.env['HOST']).toBe('127.0.0.1');
    }
  });

  it('sets every variable each app reads: APP_ENV minus its unused credentials, and what its config.ts declares', () => {
    for (const p of plan) {
      const missing = [...appEnvFor(p.app), ...requiredAppEnv(p.app)].filter((name) => p.env[name] === undefined);
      expect([p.name, missing]).toEqual([p.name, []]);
    }
  });

  it("keeps compose's value of every variable that names no compose host, mounted path or port", () => {
    for (const app of composeApps) {
      for (const p of byApp(app.name)) {
        const changed = Object.entries(app.environment)
          .filter(([key, value]) => !['HTTP_PORT', 'MANAGEMENT_PORT'].includes(key) && !pointsAtCompose(app, value))
          .filter(([key, value]) => p.env[key] !== value);
        expect([p.name, changed]).toEqual([p.name, []]);
      }
    }
  });

  it('points every server address at the local server of infra/env/local.env', () => {
    const expected: Record<string, string> = { ...localEnv, OTEL_EXPORTER_OTLP_ENDPOINT: OTLP };
    const addresses = plan.flatMap((p) =>
      ['KAFKA_BROKERS', 'SQS_ENDPOINT', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']
        .filter((name) => p.env[name] !== undefined)
        .map((name) => [p.name, name, p.env[name]]),
    );
    expect(addresses.length).toBeGreaterThan(plan.length * 2);
    expect(addresses).toEqual(addresses.map(([process, name]) => [process, name, expected[name ?? '']]));
  });

  it('connects each app to the local Postgres as the same role compose gives it', () => {
    const withDatabase = plan.filter((p) => composeEnv(p.app)['DATABASE_URL'] !== undefined);
    expect(withDatabase.length).toBeGreaterThan(5);
    for (const p of withDatabase) {
      const local = new URL(p.env['DATABASE_URL'] ?? '');
      const compose = new URL(composeEnv(p.app)['DATABASE_URL'] ?? '');
      expect([p.name, local.username, local.host]).toEqual([p.name, compose.username, new URL(localEnv['DATABASE_URL'] ?? '').host]);
    }
  });

  it('calls other apps on their local ports, and reads mounted files where the repository keeps them', () => {
    // A fork may have dropped the metrics system (tools/drop-system.ts), and with it the alerter.
    const alerter = isInCheckout('metrics-alerter') && isInCheckout('notification-api');
    const api = plan.find((p) => p.app === 'notification-api');
    const callers = plan.filter((p) => p.env['NOTIFICATION_API_URL'] !== undefined);
    expect(callers.map((p) => [p.name, p.env['NOTIFICATION_API_URL']])).toEqual(
      alerter
        ? [['metrics-alerter', `http://127.0.0.1:${api?.httpPort}`]]
        : callers.map((p) => [p.name, composeEnv(p.app)['NOTIFICATION_API_URL']]),
    );
    const rules = plan.flatMap((p) => (p.env['ALERT_RULES_FILE'] === undefined ? [] : [p.env['ALERT_RULES_FILE']]));
    expect(rules).toEqual(isInCheckout('metrics-alerter') ? [repoPath('infra/alerting/rules.json')] : []);
    expect(rules.every((file) => existsSync(file))).toBe(true);
  });

  it('gives every process ports of its own; an app compose publishes keeps its host port and runs once', () => {
    const ports = plan.flatMap((p) => [p.httpPort, p.managementPort]);
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of plan.filter((candidate) => candidate.published)) {
      expect(byApp(p.app)).toHaveLength(1);
      expect(String(p.httpPort)).toBe(composeApps.find((app) => app.name === p.app)?.hostPort?.toString());
    }
    for (const [app, count] of Object.entries(parseReplicas(localEnv['QLS_REPLICAS']))) {
      expect(byApp(app).map((p) => p.name)).toEqual(Array.from({ length: count }, (_, i) => `${app}-${i + 1}`));
    }
  });

  it('stops each process after its compose stop_grace_period (compose: 10 s unless set)', () => {
    const graces = Object.fromEntries(plan.map((p) => [p.app, p.stopGraceMs]));
    const composeGraces = Object.fromEntries(
      plan.map((p) => [p.app, (composeDurationSeconds(resolved[p.app]?.stop_grace_period ?? '10s') ?? Number.NaN) * 1_000]),
    );
    expect(graces).toEqual(composeGraces);
    expect(Object.values(graces).every((ms) => ms >= 30_000)).toBe(true);
  });
});
