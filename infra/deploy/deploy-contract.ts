import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What docker-compose.yml, the Dockerfile and k8s/ promise the rest of the
 * repository. The checks in this folder compare the deploy files against it.
 */

export const REPO_ROOT = join(__dirname, '..', '..');

export const repoPath = (...parts: string[]): string => join(REPO_ROOT, ...parts);

/** Variables every app reads through libs/config; every app container sets each one. */
export const APP_ENV = [
  'KAFKA_BROKERS',
  'SQS_ENDPOINT',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'LOG_LEVEL',
  'HTTP_PORT',
  'SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
] as const;

/** Variables of infra/env/local.env that only the no-Docker servers use. */
export const LOCAL_ONLY_ENV: Readonly<Record<string, string>> = {
  KAFKA_CONTROLLER_PORT: 'the KRaft controller port of the local Kafka process; containers keep theirs inside',
};

/** The Secret every workload reads its credentials from (k8s/README.md documents its keys). */
export const SECRET_NAME = 'qls-secrets';

/** Image repository of an app: `queues-logs-streams/<app>` (a registry may be prefixed in production). */
export const APP_IMAGE_PREFIX = 'queues-logs-streams/';

/** Apps that run once and exit; every other app is a long-running HTTP service. */
export const ONE_SHOT_APPS = ['provision'] as const;

/**
 * Apps under apps/ that are deliberately not deployed, with the reason. Every
 * other app with a webpack build must appear in the Dockerfile, compose and k8s/base.
 */
export const NOT_DEPLOYED: Readonly<Record<string, string>> = {};

/** The four servers the apps need, and where each one's version comes from. */
export const SERVERS = ['kafka', 'elasticmq', 'postgres', 'redis'] as const;
export type Server = (typeof SERVERS)[number];

/** Servers whose container image has no data volume, with the reason. */
export const STATELESS_SERVERS: Readonly<Partial<Record<Server, string>>> = {
  elasticmq: 'ElasticMQ keeps queues in memory; the provision job recreates them',
};

/**
 * Containers allowed a writable root filesystem, with the reason. Keyed by
 * container name; applies to k8s/overlays/local only (base and production run apps only).
 */
export const WRITABLE_ROOT_CONTAINERS: Readonly<Record<string, string>> = {
  kafka: "apache/kafka's entrypoint writes server.properties into /opt/kafka/config at every start",
};

/** Reads `<name>` from the `<properties>` of a Maven pom, or explains what is missing. */
export function pomProperty(pomPath: string, name: string): string {
  const shown = pomPath.startsWith(REPO_ROOT) ? pomPath.slice(REPO_ROOT.length + 1) : pomPath;
  if (!existsSync(pomPath)) {
    throw new Error(`${shown} does not exist: the local no-Docker setup must pin the server version there as <${name}>`);
  }
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`<${escaped}>\\s*([^<\\s]+)\\s*</${escaped}>`).exec(readFileSync(pomPath, 'utf8'));
  if (!match?.[1]) throw new Error(`${shown} has no <${name}> property; add it to <properties> so compose and k8s can follow it`);
  return match[1];
}

/**
 * The image each server must run, derived from the local setup: the Maven poms
 * for Kafka and ElasticMQ, Debian bookworm's packages for Postgres (15) and Redis (7.0).
 */
export function expectedServerImages(): Record<Server, string> {
  return {
    kafka: `apache/kafka:${pomProperty(repoPath('infra/local/kafka/pom.xml'), 'kafka.version')}`,
    elasticmq: `softwaremill/elasticmq-native:${pomProperty(repoPath('infra/local/elasticmq/pom.xml'), 'elasticmq.version')}`,
    postgres: 'postgres:15',
    redis: 'redis:7.0',
  };
}

/** Apps built by webpack (apps/<name>/webpack.config.js), minus NOT_DEPLOYED. */
export function deployableApps(): string[] {
  return readdirSync(repoPath('apps'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(repoPath('apps', entry.name, 'webpack.config.js')))
    .map((entry) => entry.name)
    .filter((name) => !(name in NOT_DEPLOYED))
    .sort();
}

/** `KEY=value` lines of an env file (comments and blanks skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2];
  }
  return env;
}
