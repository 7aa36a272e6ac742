import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What docker-compose.yml, the Dockerfile and k8s/ promise the rest of the
 * repository. The checks in this folder compare the deploy files against it.
 */

export const REPO_ROOT = join(__dirname, '..', '..');

export const repoPath = (...parts: string[]): string => join(REPO_ROOT, ...parts);

/**
 * Every app's Nx project name and folder: apps are grouped by system
 * (apps/<system>/<app>/project.json) and named by their project.json.
 */
export function workspaceApps(): { name: string; dir: string }[] {
  return readdirSync(repoPath('apps'), { withFileTypes: true })
    .filter((group) => group.isDirectory())
    .flatMap((group) =>
      readdirSync(repoPath('apps', group.name), { withFileTypes: true })
        .filter((app) => app.isDirectory() && existsSync(repoPath('apps', group.name, app.name, 'project.json')))
        .map((app) => {
          const dir = join('apps', group.name, app.name);
          const { name } = JSON.parse(readFileSync(repoPath(dir, 'project.json'), 'utf8')) as { name: string };
          return { name, dir };
        }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The folder of the app named `app` (its Nx project name), relative to the repository root. */
export function appDir(app: string): string | undefined {
  return workspaceApps().find((entry) => entry.name === app)?.dir;
}

/**
 * Whether `app` is an app of this checkout. The tables below name the apps of
 * all three systems; a fork that drops one (tools/drop-system.ts) keeps them
 * as they are, and the checks of the deploy files iterate over the apps it
 * kept: lists of apps are filtered here, the keys of KAFKA_SCALED_APPS and
 * QUEUE_SCALED_APPS with inCheckout (the policy's own tests use their entries
 * as fixtures).
 */
export const isInCheckout = (app: string): boolean => appDir(app) !== undefined;

/** The entries of a per-app table whose app is in this checkout. */
export function inCheckout<T>(byApp: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(byApp).filter(([app]) => isInCheckout(app)));
}

/** Variables every app reads through libs/platform/config; every app container sets each one. */
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
  'MANAGEMENT_PORT',
  'SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
] as const;

/** Variables of infra/env/local.env that only the no-Docker servers use. */
export const LOCAL_ONLY_ENV: Readonly<Record<string, string>> = {
  KAFKA_CONTROLLER_PORT: 'the KRaft controller port of the local Kafka process; containers keep theirs inside',
  QLS_REPLICAS: 'processes per app under ./dev up; compose scales with --scale, k8s with replicas and KEDA',
};

/**
 * Postgres roles (docs/security.md; the grants live in libs/platform/provisioning
 * database-roles.ts, whose naming this mirrors): provision migrates as the
 * owner and creates each app's role from `DATABASE_URL_<APP>`, the same URL the
 * app gets as its DATABASE_URL. Every app connects as its own role.
 */
export const OWNER_DATABASE_ROLE = 'qls';
export const appDatabaseRole = (app: string): string => `qls_${app.replaceAll('-', '_')}`;
export const appDatabaseUrlVariable = (app: string): string => `DATABASE_URL_${app.replaceAll('-', '_').toUpperCase()}`;
/** provision's variables, one per app with a database; local.env sets them for `./dev up`'s provision only. */
export const isAppDatabaseUrlVariable = (name: string): boolean => /^DATABASE_URL_[A-Z0-9_]+$/.test(name);

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
 * apps/<system>/<app>/webpack.config.js does not exist yet. An entry does no harm once
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
  // The feed system (posts on Kafka, fan-out tasks on SQS, feeds in Redis).
  // feed-fanout and feed-fanout-worker read all four: Postgres (follows),
  // Redis (feeds), SQS (fan-out-tasks). The API writes Postgres only (the
  // outbox; outbox-relay publishes to `posts`); the indexer Postgres only.
  'feed-api': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  'feed-indexer': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'REDIS_URL'],
};

/** APP_ENV minus the credentials `app` does not read. */
export const appEnvFor = (app: string): string[] => APP_ENV.filter((name) => !(CREDENTIALS_UNUSED[app] ?? []).includes(name));

/**
 * The operator apps' token settings (operatorAuthEnv of libs/platform/http-api):
 * their endpoints answer operator tokens only, audience `qls-ops`.
 */
export const OPERATOR_AUTH_ENV = ['AUTH_JWT_PUBLIC_KEYS', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const;

/** The user APIs' token settings (authEnv of libs/platform/http-api): the same names, the users' audience. */
const USER_AUTH_ENV = OPERATOR_AUTH_ENV;

/** The limits of an API whose callers are users (userApiLimitsEnv of libs/platform/http-api). */
const USER_API_LIMITS_ENV = ['HTTP_BODY_LIMIT_BYTES', 'RATE_LIMIT_PER_SECOND', 'RATE_LIMIT_BURST'] as const;

/** How a post fans out, which feed-fanout and feed-fanout-worker must agree on (fanOutEnv of libs/feeds/distribution). */
const FAN_OUT_ENV = [
  'FEED_LENGTH',
  'FEED_RECENT_LENGTH',
  'FEED_CELEBRITY_THRESHOLD',
  'FEED_RANKING',
  'FANOUT_DIRECT_BELOW',
  'FANOUT_TASK_SIZE',
] as const;

/** Apps with operator endpoints (operatorAuth of libs/platform/http-api): they get OPERATOR_AUTH_ENV. */
export const OPERATOR_APPS: readonly string[] = [
  'outbox-relay',
  'notification-dlq-monitor',
  'stream-ops',
  'metrics-storage',
  'metrics-dashboard',
].filter(isInCheckout);

/** Apps whose callers are users (authEnv of libs/platform/http-api): the operator apps trust the same issuer. */
export const USER_APIS: readonly string[] = ['notification-api', 'feed-api'].filter(isInCheckout);

/** The audience of operator tokens, which every operator app's deployment sets. */
export const OPERATOR_AUDIENCE = 'qls-ops';

/** The address apps bind in their containers: the image sets it (the apps default to loopback). */
export const CONTAINER_HOST = '0.0.0.0';

/**
 * Variables an app reads on top of APP_ENV that its deployment must set
 * (compose service and k8s container), whatever apps/<system>/<app>/src/config.ts
 * declares: the names the deploy files promise the app's code. Variables the
 * app's config.ts declares are required as well (see declaredEnv).
 */
export const APP_SPECIFIC_ENV: Readonly<Record<string, readonly string[]>> = {
  'outbox-relay': [...OPERATOR_AUTH_ENV],
  'notification-api': ['NOTIFICATIONS_QUEUE', ...USER_AUTH_ENV, ...USER_API_LIMITS_ENV],
  'notification-worker': [
    'NOTIFICATIONS_QUEUE',
    'NOTIFICATIONS_DLQ',
    'NOTIFICATIONS_MAX_RECEIVES',
    'WORKER_CONCURRENCY',
    'WORKER_VISIBILITY_TIMEOUT_SECONDS',
    'WORKER_MAX_PROCESSING_SECONDS',
    'LOCAL_PROVIDER_FAULTS',
  ],
  'notification-dlq-monitor': ['NOTIFICATIONS_QUEUE', 'NOTIFICATIONS_DLQ', 'DLQ_POLL_INTERVAL_MS', ...OPERATOR_AUTH_ENV],
  'metrics-ingest': [
    ...USER_API_LIMITS_ENV,
    'METRICS_RAW_TOPIC',
    'ALERTING_GROUP_ID',
    'BACKPRESSURE_POLICY',
    'BACKPRESSURE_LAG_THRESHOLD',
    'BACKPRESSURE_SAMPLE_RATE',
    'BACKPRESSURE_POLL_INTERVAL_MS',
    'BACKPRESSURE_RETRY_AFTER_SECONDS',
  ],
  'metrics-storage': ['METRICS_RAW_TOPIC', 'STORAGE_GROUP_ID', 'STORAGE_DEAD_LETTER_TOPIC', 'SHUTDOWN_TIMEOUT_MS', ...OPERATOR_AUTH_ENV],
  'metrics-alerter': ['ALERT_NOTIFIER_ENABLED', 'SHUTDOWN_TIMEOUT_MS'],
  // Declared in libs/metrics/views (metricsDashboardEnv), not in its config.ts.
  'metrics-dashboard': ['DASHBOARD_GROUP_ID', 'METRICS_TOPIC', 'DASHBOARD_WINDOW_SECONDS', 'SHUTDOWN_TIMEOUT_MS', ...OPERATOR_AUTH_ENV],
  'stream-ops': ['LAG_GROUPS', 'ALERTING_GROUP_ID', 'LAG_POLL_INTERVAL_MS', ...OPERATOR_AUTH_ENV],
  // The feed apps declare nothing in their config.ts: every name below comes
  // from libs (feedEnv of libs/feeds/timeline, fanOutConsumerEnv / fanOutWorkerEnv of
  // libs/feeds/distribution, feedApiEnv of libs/feeds/service, feedIndexerEnv of
  // libs/feeds/indexing, authEnv / bodyLimitEnv of libs/platform/http-api). The FEED_*
  // cache settings must agree between the apps that read them (AGREED_ENV).
  'feed-api': [
    ...USER_AUTH_ENV,
    ...USER_API_LIMITS_ENV,
    'POSTS_TOPIC',
    'FEED_LENGTH',
    'FEED_RECENT_LENGTH',
    'FEED_CELEBRITY_THRESHOLD',
    'FEED_ACTIVE_DAYS',
    'FEED_PAGE_SIZE',
    'FEED_MAX_PAGE_SIZE',
    'FEED_ACTIVITY_TOUCH_SECONDS',
    'FEED_REGENERATING_TTL_SECONDS',
    'FEED_INLINE_REBUILD_BUDGET_MS',
    'SHUTDOWN_TIMEOUT_MS',
  ],
  'feed-fanout': [
    'POSTS_TOPIC',
    'FANOUT_GROUP_ID',
    'FANOUT_DEAD_LETTER_TOPIC',
    'FANOUT_FROM_BEGINNING',
    'FAN_OUT_TASKS_QUEUE',
    ...FAN_OUT_ENV,
    'FANOUT_ACTIVE_HOURS',
    'SHUTDOWN_TIMEOUT_MS',
  ],
  'feed-fanout-worker': [
    'FAN_OUT_TASKS_QUEUE',
    'FAN_OUT_TASKS_DLQ',
    ...FAN_OUT_ENV,
    'FANOUT_WORKER_CONCURRENCY',
    'FANOUT_VISIBILITY_TIMEOUT_SECONDS',
    'FANOUT_MAX_PROCESSING_SECONDS',
    'SHUTDOWN_TIMEOUT_MS',
  ],
  'feed-indexer': [
    'POSTS_TOPIC',
    'FEED_INDEXER_PROJECTIONS',
    'SEARCH_GROUP_ID',
    'ANALYTICS_GROUP_ID',
    'FEED_INDEXER_DEAD_LETTER_TOPIC',
    'FEED_INDEXER_FROM_BEGINNING',
    'SHUTDOWN_TIMEOUT_MS',
  ],
};

/**
 * Variables several apps must read with one value, and the apps that read
 * each: the feed caches' lengths and the celebrity threshold decide between
 * the writers (fan-out, workers) and the read-time merge (feed-api) whether a
 * post is pushed or merged, and the ranking the fan-out scores with is the one
 * feeds are kept in. The checks compare the values across those apps (compose
 * services, k8s containers).
 */
export const AGREED_ENV: Readonly<Record<string, readonly string[]>> = agreedInCheckout({
  FEED_LENGTH: ['feed-api', 'feed-fanout', 'feed-fanout-worker'],
  FEED_RECENT_LENGTH: ['feed-api', 'feed-fanout', 'feed-fanout-worker'],
  FEED_CELEBRITY_THRESHOLD: ['feed-api', 'feed-fanout', 'feed-fanout-worker'],
  FEED_RANKING: ['feed-fanout', 'feed-fanout-worker'],
  FANOUT_TASK_SIZE: ['feed-fanout', 'feed-fanout-worker'],
  FAN_OUT_TASKS_QUEUE: ['feed-fanout', 'feed-fanout-worker'],
  POSTS_TOPIC: ['feed-api', 'feed-fanout', 'feed-indexer'],
});

/** AGREED_ENV for the apps of this checkout: a variable none of them reads is left out. */
function agreedInCheckout(byVariable: Readonly<Record<string, readonly string[]>>): Record<string, readonly string[]> {
  return Object.fromEntries(
    Object.entries(byVariable)
      .map(([variable, apps]) => [variable, apps.filter(isInCheckout)] as const)
      .filter(([, apps]) => apps.length > 0),
  );
}

/**
 * Pairs of variables that state one period in two units and must agree:
 * feed-api leaves users inactive for FEED_ACTIVE_DAYS unpushed (their feed is
 * rebuilt on their next read), the fan-out skips followers not seen for
 * FANOUT_ACTIVE_HOURS. `factor`: hours = days x 24.
 */
export const AGREED_PERIODS: readonly {
  readonly env: string;
  readonly app: string;
  readonly sameAs: string;
  readonly inApp: string;
  readonly factor: number;
}[] = [{ env: 'FANOUT_ACTIVE_HOURS', app: 'feed-fanout', sameAs: 'FEED_ACTIVE_DAYS', inApp: 'feed-api', factor: 24 }].filter(
  ({ app, inApp }) => isInCheckout(app) && isInCheckout(inApp),
);

/**
 * Variables naming an SQS queue an app consumes or sends to, its dead-letter
 * queue and (where the app reads it) the queue's redrive count: the queue must
 * be one infra/provision/topology.json creates, the DLQ the one provisioning
 * makes for it, the count its maxReceiveCount. Only the variables an app of
 * this checkout reads (APP_SPECIFIC_ENV).
 */
export const QUEUE_VARIABLES: readonly { readonly queueEnv: string; readonly dlqEnv: string; readonly maxReceivesEnv?: string }[] = [
  { queueEnv: 'NOTIFICATIONS_QUEUE', dlqEnv: 'NOTIFICATIONS_DLQ', maxReceivesEnv: 'NOTIFICATIONS_MAX_RECEIVES' },
  { queueEnv: 'FAN_OUT_TASKS_QUEUE', dlqEnv: 'FAN_OUT_TASKS_DLQ' },
].filter(({ queueEnv }) => Object.entries(APP_SPECIFIC_ENV).some(([app, names]) => isInCheckout(app) && names.includes(queueEnv)));

/**
 * Apps scaled on the depth of an SQS queue (KEDA `aws-sqs-queue`), and the
 * variable that names the queue they consume: the trigger must watch that queue.
 */
export const QUEUE_SCALED_APPS: Readonly<Record<string, string>> = {
  'notification-worker': 'NOTIFICATIONS_QUEUE',
  'feed-fanout-worker': 'FAN_OUT_TASKS_QUEUE',
};

/** A consumer group an app joins: the variables naming the group and the topic it reads. */
export interface KafkaGroupSpec {
  readonly groupEnv: string;
  readonly topicEnv: string;
  /**
   * For an app whose process runs the groups a list variable selects
   * (feed-indexer: FEED_INDEXER_PROJECTIONS=search,analytics): joined only when
   * `env` (comma-separated) holds `value`; when `env` is unset, the app's
   * default runs every group.
   */
  readonly when?: { readonly env: string; readonly value: string };
}

/**
 * Apps scaled on the lag of a Kafka consumer group (KEDA `kafka`), and the
 * groups they may join: every trigger must watch a group its target joins on
 * the topic it reads, a target that joins several groups needs a trigger for
 * each (KEDA scales on the largest), and no ScaledObject may ask for more
 * replicas than the topic has partitions (infra/provision/topology.json).
 */
export const KAFKA_SCALED_APPS: Readonly<Record<string, readonly KafkaGroupSpec[]>> = {
  'metrics-storage': [{ groupEnv: 'STORAGE_GROUP_ID', topicEnv: 'METRICS_RAW_TOPIC' }],
  'metrics-alerter': [{ groupEnv: 'ALERTING_GROUP_ID', topicEnv: 'METRICS_TOPIC' }],
  'feed-fanout': [{ groupEnv: 'FANOUT_GROUP_ID', topicEnv: 'POSTS_TOPIC' }],
  // One process runs the projections FEED_INDEXER_PROJECTIONS names, each its
  // own group; k8s runs one Deployment per projection, compose one process for both.
  'feed-indexer': [
    { groupEnv: 'SEARCH_GROUP_ID', topicEnv: 'POSTS_TOPIC', when: { env: 'FEED_INDEXER_PROJECTIONS', value: 'search' } },
    { groupEnv: 'ANALYTICS_GROUP_ID', topicEnv: 'POSTS_TOPIC', when: { env: 'FEED_INDEXER_PROJECTIONS', value: 'analytics' } },
  ],
};

/** A group an app's container joins, with the variables that name it and its topic. */
export interface JoinedGroup {
  readonly spec: KafkaGroupSpec;
  readonly group: string | undefined;
  readonly topic: string | undefined;
}

/**
 * The consumer groups a container of `app` joins, given its environment
 * (`env(name)`, undefined when unset): the specs of KAFKA_SCALED_APPS whose
 * `when` holds. Empty when the app is not listed.
 */
export function joinedGroups(
  app: string,
  env: (name: string) => string | undefined,
  consumers: Readonly<Record<string, readonly KafkaGroupSpec[]>> = KAFKA_SCALED_APPS,
): JoinedGroup[] {
  return (consumers[app] ?? [])
    .filter(({ when }) => {
      if (!when) return true;
      const selected = env(when.env);
      return selected === undefined || selected.split(',').some((entry) => entry.trim() === when.value);
    })
    .map((spec) => ({ spec, group: env(spec.groupEnv), topic: env(spec.topicEnv) }));
}

/** `SHUTDOWN_TIMEOUT_MS` when unset (libs/platform/config serviceEnv): the app's own deadline for a graceful stop. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Variables apps/<system>/<app>/src/config.ts declares itself (`NAME: z....` entries),
 * which the deployment must set explicitly: a knob nobody can see in the deploy
 * files is a knob nobody tunes. Shared blocks spread in from libs (serviceEnv,
 * postgresEnv, ...) are covered by APP_ENV. Empty when the file does not exist.
 */
export function declaredEnv(app: string): string[] {
  const dir = appDir(app);
  const path = dir === undefined ? undefined : repoPath(dir, 'src', 'config.ts');
  if (path === undefined || !existsSync(path)) return [];
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

/** Apps built by webpack (apps/<system>/<app>/webpack.config.js) and PLANNED_APPS, minus NOT_DEPLOYED. */
export function deployableApps(): string[] {
  const built = workspaceApps()
    .filter((app) => existsSync(repoPath(app.dir, 'webpack.config.js')))
    .map((app) => app.name);
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

/** The SQS queues provisioning converges to (libs/platform/provisioning names a DLQ `<name>-dlq`, `<name>-dlq.fifo` for FIFO). */
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
