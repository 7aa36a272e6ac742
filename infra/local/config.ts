/**
 * Where the local servers listen and keep their files, read from the same environment
 * variables that docker-compose and the apps use (defaults: infra/env/local.env).
 */
import { join, resolve } from 'node:path';

export interface Settings {
  readonly repoRoot: string;
  /** Root of every server's data; each server gets `<dataDir>/<server>/`. */
  readonly dataDir: string;
  /** Downloaded jars, shared by every data dir (git-ignored). */
  readonly cacheDir: string;
  /** Programs built from source (Prometheus, Jaeger), shared by every clone on the machine, like ./dev's Node. */
  readonly toolCacheDir: string;
  readonly timeoutMs: number;
  readonly kafka: { readonly port: number; readonly controllerPort: number };
  readonly sqs: { readonly port: number };
  readonly postgres: {
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly database: string;
  };
  readonly redis: { readonly port: number };
  readonly jaeger: { readonly otlpPort: number; readonly queryPort: number; readonly grpcPort: number; readonly healthPort: number };
  readonly prometheus: { readonly port: number };
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export function readSettings(env: Env, repoRoot: string): Settings {
  const database = parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://qls:qls@127.0.0.1:5432/qls');
  const settings: Settings = {
    repoRoot,
    dataDir: resolve(repoRoot, env['QLS_DATA_DIR'] || '.data'),
    cacheDir: join(repoRoot, 'infra/local/.cache'),
    toolCacheDir: toolCacheDir(env),
    timeoutMs: parseTimeout(env),
    kafka: {
      port: parseBrokerPort(env),
      controllerPort: parsePort('KAFKA_CONTROLLER_PORT', required(env, 'KAFKA_CONTROLLER_PORT')),
    },
    sqs: {
      port: urlPort(parseUrl(env, 'SQS_ENDPOINT', ['http:'], 'http://127.0.0.1:9324'), 'SQS_ENDPOINT'),
    },
    postgres: {
      port: urlPort(database, 'DATABASE_URL'),
      user: identifier(decodeURIComponent(database.username), 'DATABASE_URL', 'user'),
      password: decodeURIComponent(database.password),
      database: identifier(decodeURIComponent(database.pathname.slice(1)), 'DATABASE_URL', 'database name'),
    },
    redis: {
      port: urlPort(parseUrl(env, 'REDIS_URL', ['redis:'], 'redis://127.0.0.1:6379'), 'REDIS_URL'),
    },
    // Their usual ports; only `./dev up` (not the tests) starts them.
    jaeger: {
      otlpPort: optionalPort(env, 'JAEGER_OTLP_PORT', 4318),
      queryPort: optionalPort(env, 'JAEGER_QUERY_PORT', 16686),
      grpcPort: optionalPort(env, 'JAEGER_GRPC_PORT', 16685),
      healthPort: optionalPort(env, 'JAEGER_HEALTH_PORT', 13133),
    },
    prometheus: { port: optionalPort(env, 'PROMETHEUS_PORT', 9090) },
  };
  if (!settings.postgres.password)
    throw new ConfigError('DATABASE_URL has no password (expected postgres://user:password@127.0.0.1:5432/db)');
  assertDistinctPorts(settings);
  return settings;
}

export function toolCacheDir(env: Env): string {
  return join(env['XDG_CACHE_HOME'] || join(env['HOME'] || '/tmp', '.cache'), 'queues-logs-streams');
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is not set (its default is in infra/env/local.env; run through ./dev to load it)`);
  return value;
}

function optionalPort(env: Env, name: string, fallback: number): number {
  const text = env[name]?.trim();
  return text ? parsePort(name, text) : fallback;
}

function parsePort(name: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new ConfigError(`${name} has an invalid port "${text}"`);
  return port;
}

/** KAFKA_BROKERS is a comma-separated host:port list; the local broker takes the first port. */
function parseBrokerPort(env: Env): number {
  const first = required(env, 'KAFKA_BROKERS').split(',')[0].trim();
  const match = /^[^:\s]+:(\d+)$/.exec(first);
  if (!match) throw new ConfigError(`KAFKA_BROKERS must be host:port[,host:port...], got "${first}" (e.g. 127.0.0.1:9092)`);
  return parsePort('KAFKA_BROKERS', match[1]);
}

function parseUrl(env: Env, name: string, protocols: string[], example: string): URL {
  const text = required(env, name);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${text}" (e.g. ${example})`);
  }
  if (!protocols.includes(url.protocol))
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${text}"`);
  return url;
}

function urlPort(url: URL, name: string): number {
  // The port is spelled out in every environment file; relying on a scheme default would hide typos.
  if (!url.port) throw new ConfigError(`${name} must include a port, got "${url.href}"`);
  return parsePort(name, url.port);
}

function identifier(value: string, name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)) {
    throw new ConfigError(`${name} has an invalid ${what} "${value}" (letters, digits and _ only)`);
  }
  return value;
}

function parseTimeout(env: Env): number {
  const text = env['QLS_INFRA_TIMEOUT_MS']?.trim() || '120000';
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new ConfigError(`QLS_INFRA_TIMEOUT_MS must be a positive number of milliseconds, got "${text}"`);
  return ms;
}

function assertDistinctPorts(s: Settings): void {
  const ports: [string, number][] = [
    ['KAFKA_BROKERS', s.kafka.port],
    ['KAFKA_CONTROLLER_PORT', s.kafka.controllerPort],
    ['SQS_ENDPOINT', s.sqs.port],
    ['DATABASE_URL', s.postgres.port],
    ['REDIS_URL', s.redis.port],
    ['JAEGER_OTLP_PORT', s.jaeger.otlpPort],
    ['JAEGER_QUERY_PORT', s.jaeger.queryPort],
    ['JAEGER_GRPC_PORT', s.jaeger.grpcPort],
    ['JAEGER_HEALTH_PORT', s.jaeger.healthPort],
    ['PROMETHEUS_PORT', s.prometheus.port],
  ];
  for (const [name, port] of ports) {
    const other = ports.find(([otherName, otherPort]) => otherName !== name && otherPort === port);
    if (other) throw new ConfigError(`${name} and ${other[0]} both use port ${port}`);
  }
}
