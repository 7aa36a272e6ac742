/**
 * What `./dev up` runs for each app, derived from docker-compose.yml, the one place an app's
 * environment is written: the same services, the same variables with the same values, pointed
 * from the compose network at this machine. k8s/ is held to the same values by infra/deploy.
 *
 * The only differences, each one a rule below (`localValue`):
 * - a server's address (kafka:9092, http://elasticmq:9324, redis://redis:6379) becomes the
 *   local one of the same variable in infra/env/local.env (KAFKA_BROKERS, SQS_ENDPOINT, REDIS_URL);
 * - a Postgres URL becomes the local URL of the same role (DATABASE_URL_<APP> in infra/env/local.env);
 * - http://jaeger:4318 becomes the local Jaeger's OTLP port (unset without observability);
 * - http://<app>:3000 becomes that app's local port;
 * - a file mounted into the container is read where the repository has it;
 * - HTTP_PORT and MANAGEMENT_PORT are the process's own ports (several apps share a machine),
 *   and HOST is loopback (the image sets 0.0.0.0 for the pod network).
 * Values that name a compose service no rule knows are refused, so a new one cannot slip through;
 * a host that is no compose service (an app a fork dropped) is on neither network and stays as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** An app service of docker-compose.yml, its environment interpolated as compose would. */
export interface ComposeApp {
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The host side of its published port (`127.0.0.1:3001:3000` -> 3001), when it has one. */
  readonly hostPort?: number;
  /** Bind mounts as [path in the repository, path in the container]. */
  readonly binds: readonly (readonly [string, string])[];
  readonly stopGraceMs: number;
}

/** One local process of an app (apps without a published port may run several replicas). */
export interface ProcessPlan {
  /** `feed-api`, or `notification-worker-2` for a replica. */
  readonly name: string;
  readonly app: string;
  readonly replica: number;
  /** The built entry point, relative to the repository root (also the working directory). */
  readonly entry: string;
  readonly httpPort: number;
  readonly managementPort: number;
  /** Whether compose publishes its HTTP port on the host (an API or operator endpoint). */
  readonly published: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly stopGraceMs: number;
}

export interface LocalTargets {
  /** The local connection variables (infra/env/local.env, .env): KAFKA_BROKERS, SQS_ENDPOINT, REDIS_URL, DATABASE_URL*. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Jaeger's local OTLP/HTTP endpoint; undefined when it does not run (--no-observability). */
  readonly otlpEndpoint: string | undefined;
  /** Added to every app's HTTP and management port (a second checkout, a test, on other ports). */
  readonly portOffset: number;
  /** Processes per app; apps with a published port run once. */
  readonly replicas: Readonly<Record<string, number>>;
  /** Every service of docker-compose.yml (servers, observability, apps): the hosts of the compose network. */
  readonly composeServices: readonly string[];
}

export class PlanError extends Error {}

/** HTTP ports of apps compose does not publish, and every management port, count up from these. */
export const UNPUBLISHED_PORT_BASE = 3100;
export const MANAGEMENT_PORT_BASE = 9400;

const SERVER_VARIABLES: Readonly<Record<string, string>> = { kafka: 'KAFKA_BROKERS', elasticmq: 'SQS_ENDPOINT', redis: 'REDIS_URL' };

/** `name=count,name=count` (QLS_REPLICAS). */
export function parseReplicas(text: string | undefined): Record<string, number> {
  const replicas: Record<string, number> = {};
  for (const entry of (text ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^([a-z0-9-]+)=(\d+)$/.exec(entry);
    const count = Number(match?.[2]);
    if (!match || count < 1 || count > 16) throw new PlanError(`QLS_REPLICAS: "${entry}" is not <app>=<1..16>`);
    replicas[match[1]] = count;
  }
  return replicas;
}

/**
 * The app services of docker-compose.yml (those built from the Dockerfile, minus one-shot jobs),
 * with `${VAR}`, `${VAR:-default}` and `${VAR:?message}` filled from `vars` as compose does.
 */
export function readComposeApps(composePath: string, vars: Readonly<Record<string, string | undefined>>): ComposeApp[] {
  const file = parse(readFileSync(composePath, 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
  const apps: ComposeApp[] = [];
  for (const [name, service] of Object.entries(file.services ?? {})) {
    if (service.build === undefined || service.restart === 'no') continue;
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (value === null || value === undefined) continue;
      environment[key] = interpolate(String(value), vars, `${name}.environment.${key}`);
    }
    const hostPort = (service.ports ?? []).map(publishedPort).find((port) => port !== undefined);
    const binds = (service.volumes ?? []).flatMap((volume): [string, string][] => {
      const [source, target] = volume.split(':');
      return source !== undefined && target !== undefined && source.startsWith('.') ? [[source, target]] : [];
    });
    apps.push({
      name,
      environment,
      hostPort,
      binds,
      stopGraceMs: durationMs(service.stop_grace_period ?? '10s', `${name}.stop_grace_period`),
    });
  }
  return apps;
}

/** The names of every service of docker-compose.yml. */
export function readComposeServices(composePath: string): string[] {
  return Object.keys((parse(readFileSync(composePath, 'utf8'), { merge: true }) as { services?: object }).services ?? {});
}

interface ComposeService {
  build?: unknown;
  restart?: string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

/** Compose's interpolation: `$$` is a literal `$`; an unset variable with `:?` is an error naming it. */
export function interpolate(text: string, vars: Readonly<Record<string, string | undefined>>, where: string): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, operator: string | undefined, argument: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare ?? '';
      const value = vars[name];
      const missing = operator?.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (!missing || operator === undefined) return value ?? '';
      if (operator.endsWith('-')) return argument ?? '';
      throw new PlanError(`${where}: ${name} is not set (${argument || 'required'})`);
    },
  );
}

function publishedPort(port: string): number | undefined {
  const parts = port.split(':');
  return parts.length >= 2 ? Number(parts.at(-2)) : undefined;
}

function durationMs(text: string, where: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) throw new PlanError(`${where}: cannot read duration "${text}"`);
  const unit = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
  return parts.reduce((sum, part) => sum + Number(part[1]) * unit[part[2] as keyof typeof unit], 0);
}

/** Every local process: ports assigned in compose's order, environment pointed at this machine. */
export function planProcesses(apps: readonly ComposeApp[], targets: LocalTargets, repoRoot: string): ProcessPlan[] {
  for (const name of Object.keys(targets.replicas)) {
    const app = apps.find((candidate) => candidate.name === name);
    if (!app) throw new PlanError(`QLS_REPLICAS names ${name}, which is not an app of docker-compose.yml`);
    if (app.hostPort !== undefined && targets.replicas[name] !== 1)
      throw new PlanError(`QLS_REPLICAS: ${name} publishes port ${app.hostPort}, so it runs once (as in compose)`);
  }
  let nextUnpublished = UNPUBLISHED_PORT_BASE + targets.portOffset;
  let nextManagement = MANAGEMENT_PORT_BASE + targets.portOffset;
  const shells = apps.flatMap((app) => {
    const count = targets.replicas[app.name] ?? 1;
    return Array.from({ length: count }, (_, i) => ({
      app,
      replica: i + 1,
      name: count === 1 ? app.name : `${app.name}-${i + 1}`,
      httpPort: app.hostPort === undefined ? nextUnpublished++ : app.hostPort + targets.portOffset,
      managementPort: nextManagement++,
    }));
  });
  const appPorts = new Map(shells.filter((shell) => shell.replica === 1).map((shell) => [shell.app.name, shell.httpPort]));
  return shells.map(({ app, replica, name, httpPort, managementPort }) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(app.environment)) {
      const local = localValue(key, value, { app, targets, appPorts, repoRoot, httpPort, managementPort });
      if (local !== undefined) env[key] = local;
    }
    env['HOST'] = '127.0.0.1';
    return {
      name,
      app: app.name,
      replica,
      entry: `dist/apps/${app.name}/main.js`,
      httpPort,
      managementPort,
      published: app.hostPort !== undefined,
      env,
      stopGraceMs: app.stopGraceMs,
    };
  });
}

interface ValueContext {
  readonly app: ComposeApp;
  readonly targets: LocalTargets;
  readonly appPorts: ReadonlyMap<string, number>;
  readonly repoRoot: string;
  readonly httpPort: number;
  readonly managementPort: number;
}

/** The value of one compose variable on this machine; undefined leaves it unset. */
function localValue(key: string, value: string, c: ValueContext): string | undefined {
  if (key === 'HTTP_PORT') return String(c.httpPort);
  if (key === 'MANAGEMENT_PORT') return String(c.managementPort);
  const where = `${c.app.name}: ${key}=${value}`;
  const bind = c.app.binds.find(([, target]) => value === target || value.startsWith(`${target}/`));
  if (bind) return join(resolve(c.repoRoot, bind[0]), value.slice(bind[1].length));
  const hosts = [...value.matchAll(/(?:^|[/@,])([a-z][a-z0-9-]*):(\d+)/g)].map((match) => match[1] ?? '');
  if (hosts.length === 0) return value;
  const host = hosts[0];
  if (hosts.some((other) => other !== host)) throw new PlanError(`${where}: names several compose hosts`);
  if (host in SERVER_VARIABLES) return required(c.targets.env, SERVER_VARIABLES[host], where);
  if (host === 'postgres') return databaseUrlOfRole(value, c.targets.env, where);
  if (host === 'jaeger') return c.targets.otlpEndpoint;
  const port = c.appPorts.get(host);
  if (port !== undefined) return value.replace(/\/\/[a-z][a-z0-9-]*:\d+/, `//127.0.0.1:${port}`);
  if (!c.targets.composeServices.includes(host)) return value;
  throw new PlanError(`${where}: no rule maps the compose service "${host}" to this machine (infra/local/app-plan.ts)`);
}

function required(env: Readonly<Record<string, string | undefined>>, name: string, where: string): string {
  const value = env[name];
  if (!value) throw new PlanError(`${where}: ${name} is not set locally (infra/env/local.env)`);
  return value;
}

/** The local DATABASE_URL* whose role is the compose URL's: each app connects as its own role on both. */
function databaseUrlOfRole(composeUrl: string, env: Readonly<Record<string, string | undefined>>, where: string): string {
  const role = new URL(composeUrl).username;
  const local = Object.entries(env).find(
    ([name, url]) => /^DATABASE_URL(_[A-Z0-9_]+)?$/.test(name) && url && new URL(url).username === role,
  );
  if (!local?.[1]) throw new PlanError(`${where}: no DATABASE_URL* in infra/env/local.env connects as the role ${role}`);
  return local[1];
}

/** `KEY=value` lines, quotes around the value removed as compose and the shell do. */
export function readDotEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (!existsSync(path)) return env;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match?.[1]) continue;
    const value = (match[2] ?? '').trim();
    env[match[1]] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}
