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

/**
 * Apps deployed ahead of their code: checked as deployable although
 * apps/<name>/webpack.config.js does not exist yet. An entry does no harm once
 * the app lands; remove it then.
 */
export const PLANNED_APPS: Readonly<Record<string, string>> = {};

/**
 * Credentials of APP_ENV an app does not read, by app. Its deployment must not
 * hand them to it (least privilege: a compromised DLQ monitor holds no
 * database password, the API no AWS keys), and the checks do not require them.
 */
export const CREDENTIALS_UNUSED: Readonly<Record<string, readonly string[]>> = {
  'notification-api': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  'notification-dlq-monitor': ['DATABASE_URL', 'REDIS_URL'],
  // System 2 (metrics on Kafka): no SQS, no Redis; the database only where state lives.
  'metrics-ingest': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'REDIS_URL'],
  'metrics-storage': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'REDIS_URL'],
  'metrics-alerter': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'REDIS_URL'],
  'metrics-dashboard': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'REDIS_URL'],
  // The alerter's checkpoints (its replays rewind them) are its only database.
  'stream-ops': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'REDIS_URL'],
};

/** APP_ENV minus the credentials `app` does not read. */
export const appEnvFor = (app: string): string[] => APP_ENV.filter((name) => !(CREDENTIALS_UNUSED[app] ?? []).includes(name));

/**
 * Variables an app reads on top of APP_ENV that its deployment must set
 * (compose service and k8s container), whatever apps/<app>/src/config.ts
 * declares: the names the deploy files promise the app's code. Variables the
 * app's config.ts declares are required as well (see declaredEnv).
 */
export const APP_SPECIFIC_ENV: Readonly<Record<string, readonly string[]>> = {
  'notification-api': [
    'NOTIFICATIONS_QUEUE',
    'AUTH_JWT_PUBLIC_KEYS',
    'AUTH_JWT_ISSUER',
    'AUTH_JWT_AUDIENCE',
    'HTTP_BODY_LIMIT_BYTES',
    'RATE_LIMIT_PER_SECOND',
    'RATE_LIMIT_BURST',
  ],
  'notification-worker': [
    'NOTIFICATIONS_QUEUE',
    'NOTIFICATIONS_DLQ',
    'NOTIFICATIONS_MAX_RECEIVES',
    'WORKER_CONCURRENCY',
    'WORKER_VISIBILITY_TIMEOUT_SECONDS',
    'WORKER_MAX_PROCESSING_SECONDS',
    'LOCAL_PROVIDER_FAULTS',
  ],
  'notification-dlq-monitor': ['NOTIFICATIONS_QUEUE', 'NOTIFICATIONS_DLQ', 'DLQ_POLL_INTERVAL_MS'],
  'metrics-ingest': [
    'HTTP_BODY_LIMIT_BYTES',
    'METRICS_RAW_TOPIC',
    'ALERTING_GROUP_ID',
    'BACKPRESSURE_POLICY',
    'BACKPRESSURE_LAG_THRESHOLD',
    'BACKPRESSURE_SAMPLE_RATE',
    'BACKPRESSURE_POLL_INTERVAL_MS',
    'BACKPRESSURE_RETRY_AFTER_SECONDS',
  ],
  'metrics-storage': ['METRICS_RAW_TOPIC', 'STORAGE_GROUP_ID', 'STORAGE_DEAD_LETTER_TOPIC', 'SHUTDOWN_TIMEOUT_MS'],
  'metrics-alerter': ['ALERT_NOTIFIER_ENABLED', 'SHUTDOWN_TIMEOUT_MS'],
  // Declared in libs/metrics-dashboard (metricsDashboardEnv), not in its config.ts.
  'metrics-dashboard': ['DASHBOARD_GROUP_ID', 'METRICS_TOPIC', 'DASHBOARD_WINDOW_SECONDS', 'SHUTDOWN_TIMEOUT_MS'],
  'stream-ops': ['LAG_GROUPS', 'ALERTING_GROUP_ID', 'LAG_POLL_INTERVAL_MS'],
};

/**
 * Apps scaled on the depth of an SQS queue (KEDA `aws-sqs-queue`), and the
 * variable that names the queue they consume: the trigger must watch that queue.
 */
export const QUEUE_SCALED_APPS: Readonly<Record<string, string>> = {
  'notification-worker': 'NOTIFICATIONS_QUEUE',
};

/**
 * Apps scaled on the lag of a Kafka consumer group (KEDA `kafka`), and the
 * variables that name the group they join and the topic they consume: the
 * trigger must watch that group on that topic, and never ask for more replicas
 * than the topic has partitions (infra/provision/topology.json).
 */
export const KAFKA_SCALED_APPS: Readonly<Record<string, { readonly groupEnv: string; readonly topicEnv: string }>> = {
  'metrics-storage': { groupEnv: 'STORAGE_GROUP_ID', topicEnv: 'METRICS_RAW_TOPIC' },
  'metrics-alerter': { groupEnv: 'ALERTING_GROUP_ID', topicEnv: 'METRICS_TOPIC' },
};

/** `SHUTDOWN_TIMEOUT_MS` when unset (libs/config serviceEnv): the app's own deadline for a graceful stop. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Variables apps/<app>/src/config.ts declares itself (`NAME: z....` entries),
 * which the deployment must set explicitly: a knob nobody can see in the deploy
 * files is a knob nobody tunes. Shared blocks spread in from libs (serviceEnv,
 * postgresEnv, ...) are covered by APP_ENV. Empty when the file does not exist.
 */
export function declaredEnv(app: string): string[] {
  const path = repoPath('apps', app, 'src', 'config.ts');
  if (!existsSync(path)) return [];
  const names = [...readFileSync(path, 'utf8').matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:\s*z\b/gm)].map((match) => match[1] ?? '');
  return [...new Set(names)].filter((name) => name !== '').sort();
}

/** Every variable the deployment of `app` must set beyond APP_ENV: APP_SPECIFIC_ENV and declaredEnv. */
export function requiredAppEnv(app: string): string[] {
  return [...new Set([...(APP_SPECIFIC_ENV[app] ?? []), ...declaredEnv(app)])].sort();
}

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

/** Apps built by webpack (apps/<name>/webpack.config.js) and PLANNED_APPS, minus NOT_DEPLOYED. */
export function deployableApps(): string[] {
  const built = readdirSync(repoPath('apps'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(repoPath('apps', entry.name, 'webpack.config.js')))
    .map((entry) => entry.name);
  return [...new Set([...built, ...Object.keys(PLANNED_APPS)])].filter((name) => !(name in NOT_DEPLOYED)).sort();
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

/** A queue of infra/provision/topology.json as provisioning creates it: its DLQ (`<name>-dlq`) and redrive count. */
export interface ProvisionedQueue {
  readonly name: string;
  readonly dlq?: string;
  readonly maxReceiveCount?: number;
}

/** The SQS queues provisioning converges to (libs/provisioning names a DLQ `<name>-dlq`, `<name>-dlq.fifo` for FIFO). */
export function provisionedQueues(): ProvisionedQueue[] {
  const topology = JSON.parse(readFileSync(repoPath('infra/provision/topology.json'), 'utf8')) as {
    queues?: { name: string; deadLetter?: { maxReceiveCount: number } }[];
  };
  return (topology.queues ?? []).map(({ name, deadLetter }) => ({
    name,
    ...(deadLetter
      ? {
          dlq: name.endsWith('.fifo') ? `${name.replace(/\.fifo$/, '')}-dlq.fifo` : `${name}-dlq`,
          maxReceiveCount: deadLetter.maxReceiveCount,
        }
      : {}),
  }));
}

/** A Kafka topic of infra/provision/topology.json as provisioning creates it. */
export interface ProvisionedTopic {
  readonly name: string;
  readonly partitions: number;
}

/** The Kafka topics provisioning converges to, with their partition counts. */
export function provisionedTopics(): ProvisionedTopic[] {
  const topology = JSON.parse(readFileSync(repoPath('infra/provision/topology.json'), 'utf8')) as {
    topics?: { name: string; partitions: number }[];
  };
  return (topology.topics ?? []).map(({ name, partitions }) => ({ name, partitions }));
}
