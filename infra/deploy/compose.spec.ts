import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  AGREED_ENV,
  AGREED_PERIODS,
  CONTAINER_HOST,
  CREDENTIALS_UNUSED,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  KAFKA_SCALED_APPS,
  LOCAL_ONLY_ENV,
  ONE_SHOT_APPS,
  OPERATOR_APPS,
  OPERATOR_AUDIENCE,
  OWNER_DATABASE_ROLE,
  QUEUE_VARIABLES,
  SERVERS,
  STATELESS_SERVERS,
  USER_APIS,
  appDatabaseRole,
  appDatabaseUrlVariable,
  appEnvFor,
  deployableApps,
  inCheckout,
  workspaceApps,
  isAppDatabaseUrlVariable,
  joinedGroups,
  provisionedQueues,
  readEnvFile,
  repoPath,
  requiredAppEnv,
} from './deploy-contract';
import { credentialProblem, imageProblem } from './policy';
import { composeConfig, composeDurationSeconds } from './deploy-tools';

interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string };
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  restart?: string;
  ports?: (string | { published?: string | number; target?: number; host_ip?: string })[];
  stop_grace_period?: string;
}

/** `127.0.0.1:3001:3000` or the long form -> "127.0.0.1:3001" (the host side), undefined when none is published. */
function hostSide(port: string | { published?: string | number; host_ip?: string }): string | undefined {
  if (typeof port !== 'string') return port.published === undefined ? undefined : `${port.host_ip ?? '0.0.0.0'}:${port.published}`;
  const parts = port.split(':');
  if (parts.length < 2) return undefined;
  return parts.length === 2 ? `0.0.0.0:${parts[0]}` : `${parts.slice(0, -1).join(':')}`;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

let resolved: ComposeFile;
let appServices: [string, ComposeService][];

beforeAll(() => {
  const result = composeConfig('.env.example');
  if (result.status !== 0) throw new Error(`docker-compose config failed with .env.example:\n${result.stderr.trim()}`);
  resolved = parse(result.stdout) as ComposeFile;
  appServices = Object.entries(resolved.services).filter(([, service]) => service.build !== undefined);
});

const isOneShot = (name: string) => (ONE_SHOT_APPS as readonly string[]).includes(name);

/** The rule_files globs of infra/compose/prometheus.yml, as patterns over paths in the container. */
function ruleFilePatterns(): RegExp[] {
  const config = parse(readFileSync(repoPath('infra/compose/prometheus.yml'), 'utf8')) as { rule_files?: string[] };
  return (config.rule_files ?? []).map(
    (glob) =>
      new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')}$`,
      ),
  );
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q` with .env.example', () => {
    const result = composeConfig('.env.example', ['-q']);
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses to start without .env, naming the missing password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    try {
      writeFileSync(join(dir, 'empty.env'), '');
      const result = composeConfig(join(dir, 'empty.env'), ['-q']);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/POSTGRES_PASSWORD|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
      expect(result.stderr).toContain('.env.example');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hard-codes no credential: every password-like value comes from ${VARIABLE}', () => {
    const raw = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as ComposeFile;
    const problems = Object.entries(raw.services).flatMap(([name, service]) =>
      Object.entries(service.environment ?? {}).flatMap(([key, value]) => {
        const text = String(value ?? '');
        const problem = credentialProblem(key, text.replace(/\$\{[^}]+\}/g, ''));
        return problem && !/\$\{[A-Z0-9_]+:\?[^}]*\}/.test(text) ? [`service ${name}: ${problem}; use \${VARIABLE:?...} from .env`] : [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('documents in .env.example every variable it requires', () => {
    const required = [...readFileSync(repoPath('docker-compose.yml'), 'utf8').matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((match) => match[1]);
    const documented = readEnvFile(repoPath('.env.example'));
    expect(required.length).toBeGreaterThan(0);
    expect([...new Set(required)].filter((name) => name !== undefined && !(name in documented))).toEqual([]);
  });

  it('pins every image to a version', () => {
    const problems = Object.entries(resolved.services).flatMap(([name, service]) => {
      const problem = imageProblem(service.image);
      return problem ? [`service ${name}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it.each(SERVERS)('gives %s a healthcheck', (server) => {
    const healthcheck = resolved.services[server]?.healthcheck;
    expect(healthcheck?.disable).not.toBe(true);
    expect(healthcheck?.test).toEqual(expect.arrayContaining([expect.stringMatching(/^CMD(-SHELL)?$/)]));
  });

  it('keeps the data of every stateful server in a named volume', () => {
    const problems = SERVERS.filter((server) => !(server in STATELESS_SERVERS)).flatMap((server) => {
      const named = (resolved.services[server]?.volumes ?? []).some((volume) =>
        typeof volume === 'string' ? Object.keys(resolved.volumes ?? {}).includes(volume.split(':')[0] ?? '') : volume.type === 'volume',
      );
      return named ? [] : [`service ${server} has no named volume for its data`];
    });
    expect(problems).toEqual([]);
  });

  it('runs provision once, after every server is healthy', () => {
    const provision = resolved.services['provision'];
    expect(provision?.restart).toBe('no');
    for (const server of SERVERS) expect(provision?.depends_on?.[server]?.condition).toBe('service_healthy');
  });

  it('starts every long-running app only after provision completed successfully', () => {
    const problems = appServices
      .filter(([name]) => !isOneShot(name))
      .filter(([, service]) => service.depends_on?.['provision']?.condition !== 'service_completed_successfully')
      .map(([name]) => `service ${name} does not wait for provision: service_completed_successfully`);
    expect(problems).toEqual([]);
  });

  it('sets every variable the apps read on every app service, naming the app', () => {
    const problems = appServices.flatMap(([name, service]) => {
      const environment = service.environment ?? {};
      const missing = [...appEnvFor(name), ...requiredAppEnv(name)].filter(
        (variable) => environment[variable] === undefined || environment[variable] === '',
      );
      const unused = (CREDENTIALS_UNUSED[name] ?? []).filter((variable) => environment[variable] !== undefined);
      return [
        ...(missing.length > 0 ? [`service ${name} does not set ${missing.join(', ')}`] : []),
        ...(unused.length > 0 ? [`service ${name} gets ${unused.join(', ')}, which it does not read; leave them out`] : []),
        ...(['SERVICE_NAME', 'OTEL_SERVICE_NAME'] as const)
          .filter((variable) => environment[variable] !== name)
          .map((variable) => `service ${name} sets ${variable}=${environment[variable]}`),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('gives every operator app the issuer the user APIs trust and the operator audience, qls-ops', () => {
    const env = (name: string) => appServices.find(([service]) => service === name)?.[1].environment ?? {};
    const issuers = new Set(USER_APIS.map((app) => env(app)['AUTH_JWT_ISSUER']));
    expect(issuers.size).toBe(1);
    const [issuer] = issuers;
    const problems = OPERATOR_APPS.flatMap((app) =>
      env(app)['AUTH_JWT_ISSUER'] === issuer && env(app)['AUTH_JWT_AUDIENCE'] === OPERATOR_AUDIENCE
        ? []
        : [`service ${app} trusts ${env(app)['AUTH_JWT_ISSUER']} for ${env(app)['AUTH_JWT_AUDIENCE']}`],
    );
    expect(problems).toEqual([]);
  });

  it('binds every app to all interfaces in its container: the image sets HOST, and no service sets it back to loopback', () => {
    const runtime = /FROM [^\n]+ AS runtime\n(?:#[^\n]*\n)*ENV ([^\n]+)/.exec(readFileSync(repoPath('Dockerfile'), 'utf8'))?.[1] ?? '';
    expect(runtime.split(/\s+/)).toContain(`HOST=${CONTAINER_HOST}`);
    const overridden = appServices.filter(
      ([, service]) => ![undefined, CONTAINER_HOST].includes(service.environment?.['HOST'] as string | undefined),
    );
    expect(overridden.map(([name]) => name)).toEqual([]);
  });

  it('sets every variable of infra/env/local.env that is not local-only', () => {
    const needed = Object.keys(readEnvFile(repoPath('infra/env/local.env'))).filter(
      (name) => !(name in LOCAL_ONLY_ENV) && !isAppDatabaseUrlVariable(name),
    );
    const problems = appServices.flatMap(([name, service]) =>
      needed
        .filter((variable) => !(CREDENTIALS_UNUSED[name] ?? []).includes(variable))
        .filter((variable) => service.environment?.[variable] === undefined)
        .map((variable) => `service ${name} does not set ${variable} (infra/env/local.env does)`),
    );
    expect(problems).toEqual([]);
  });

  it('connects every app to Postgres as its own role, whose URL provision gets to create it; only provision connects as the owner', () => {
    const provision = resolved.services['provision']?.environment ?? {};
    const userOf = (url: unknown) => (typeof url === 'string' ? decodeURIComponent(new URL(url).username) : undefined);
    const withDatabase = appServices.filter(([name, service]) => !isOneShot(name) && service.environment?.['DATABASE_URL'] !== undefined);
    const problems = withDatabase.flatMap(([name, service]) => {
      const url = service.environment?.['DATABASE_URL'];
      return [
        ...(userOf(url) === appDatabaseRole(name) ? [] : [`service ${name} connects as ${userOf(url)}, not ${appDatabaseRole(name)}`]),
        ...(provision[appDatabaseUrlVariable(name)] === url
          ? []
          : [`provision's ${appDatabaseUrlVariable(name)} is not ${name}'s DATABASE_URL`]),
      ];
    });
    const extra = Object.keys(provision)
      .filter(isAppDatabaseUrlVariable)
      .filter((variable) => !withDatabase.some(([name]) => appDatabaseUrlVariable(name) === variable))
      .map((variable) => `provision gets ${variable}, which no app uses`);
    expect(withDatabase.length).toBeGreaterThan(0);
    expect([...problems, ...extra]).toEqual([]);
    expect(userOf(provision['DATABASE_URL'])).toBe(OWNER_DATABASE_ROLE);
  });

  it("gives ./dev up's provision (infra/env/local.env) the same app roles as compose, each its own", () => {
    const local = readEnvFile(repoPath('infra/env/local.env'));
    const provision = resolved.services['provision']?.environment ?? {};
    const roles = (env: Record<string, unknown>) =>
      Object.entries(env)
        .filter(([name]) => isAppDatabaseUrlVariable(name))
        .map(([name, url]) => `${name}=${decodeURIComponent(new URL(String(url)).username)}`)
        .sort();
    expect(roles(local)).toEqual(roles(provision));
    expect(decodeURIComponent(new URL(local['DATABASE_URL'] ?? '').username)).toBe(OWNER_DATABASE_ROLE);
  });

  it('builds each app from its own Dockerfile target into queues-logs-streams/<app>:local', () => {
    const problems = appServices.flatMap(([name, service]) =>
      service.build?.target === name && service.image === `queues-logs-streams/${name}:local`
        ? []
        : [`service ${name} builds target ${service.build?.target} as ${service.image}`],
    );
    expect(problems).toEqual([]);
  });

  it('runs every deployable app under apps/', () => {
    const services = new Set(appServices.map(([name]) => name));
    expect(
      deployableApps()
        .filter((app) => !services.has(app))
        .map((app) => `apps/${app} has no service in docker-compose.yml`),
    ).toEqual([]);
  });

  it.each(QUEUE_VARIABLES)(
    'gives the apps reading $queueEnv a queue provisioning creates, the DLQ it makes for it, and its redrive count',
    ({ queueEnv, dlqEnv, maxReceivesEnv }) => {
      const named = appServices.filter(([, service]) => service.environment?.[queueEnv] !== undefined);
      expect(named.length).toBeGreaterThan(0);
      const problems = named.flatMap(([name, service]) => {
        const env = service.environment ?? {};
        const queue = provisionedQueues().find((q) => q.name === env[queueEnv]);
        if (!queue) return [`service ${name} reads ${queueEnv}=${env[queueEnv]}, which topology.json does not create`];
        const receives = maxReceivesEnv === undefined ? undefined : env[maxReceivesEnv];
        return [
          ...(env[dlqEnv] !== undefined && env[dlqEnv] !== queue.dlq
            ? [`service ${name} reads ${dlqEnv}=${env[dlqEnv]}, but the DLQ of ${queue.name} is ${queue.dlq}`]
            : []),
          ...(receives !== undefined && Number(receives) !== queue.maxReceiveCount
            ? [`service ${name} sets ${maxReceivesEnv}=${receives}, the queue's maxReceiveCount is ${queue.maxReceiveCount}`]
            : []),
        ];
      });
      expect(problems).toEqual([]);
    },
  );

  it('gives the apps that must agree on a setting one value of it (AGREED_ENV, AGREED_PERIODS)', () => {
    const env = (app: string) => resolved.services[app]?.environment ?? {};
    const problems = [
      ...Object.entries(AGREED_ENV).flatMap(([variable, apps]) => {
        const values = apps.map((app) => `${app}=${env(app)[variable] ?? '(unset)'}`);
        return new Set(apps.map((app) => String(env(app)[variable]))).size === 1 && env(apps[0] ?? '')[variable] !== undefined
          ? []
          : [`${variable} differs between the services that read it: ${values.join(', ')}`];
      }),
      ...AGREED_PERIODS.flatMap(({ env: variable, app, sameAs, inApp, factor }) =>
        Number(env(app)[variable]) === Number(env(inApp)[sameAs]) * factor
          ? []
          : [`service ${app} sets ${variable}=${env(app)[variable]}, not ${factor} x ${sameAs}=${env(inApp)[sameAs]} of ${inApp}`],
      ),
    ];
    expect(problems).toEqual([]);
  });

  it('stops every long-running app after its own shutdown deadline (stop_grace_period > SHUTDOWN_TIMEOUT_MS), not before', () => {
    const problems = appServices
      .filter(([name]) => !isOneShot(name))
      .flatMap(([name, service]) => {
        // docker's default when unset
        const grace = composeDurationSeconds(service.stop_grace_period ?? '10s');
        const timeout = Number(service.environment?.['SHUTDOWN_TIMEOUT_MS'] ?? DEFAULT_SHUTDOWN_TIMEOUT_MS) / 1000;
        if (grace === undefined) return [`service ${name} has an unreadable stop_grace_period ${service.stop_grace_period}`];
        return grace > timeout
          ? []
          : [`service ${name} is killed after ${grace} s but may take ${timeout} s (SHUTDOWN_TIMEOUT_MS) to stop`];
      });
    expect(problems).toEqual([]);
  });

  it('publishes no host port twice', () => {
    const owners = new Map<string, string[]>();
    for (const [name, service] of Object.entries(resolved.services)) {
      for (const port of service.ports ?? []) {
        const host = hostSide(port);
        if (host !== undefined) owners.set(host, [...(owners.get(host) ?? []), name]);
      }
    }
    expect([...owners].filter(([, names]) => names.length > 1).map(([host, names]) => `${host}: ${names.join(', ')}`)).toEqual([]);
  });

  it('loads every alerting rule file of infra/alerts into Prometheus (mounted, and matched by rule_files)', () => {
    // *.test.yml beside them are promtool's unit tests of the rules, not rules.
    const files = existsSync(repoPath('infra/alerts'))
      ? readdirSync(repoPath('infra/alerts')).filter((file) => /\.ya?ml$/.test(file) && !/\.test\.ya?ml$/.test(file))
      : [];
    const mount = (resolved.services['prometheus']?.volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source ?? '', volume.target ?? '']))
      .find(([source]) => source === repoPath('infra/alerts'))?.[1];
    const patterns = ruleFilePatterns();
    const problems = files
      .filter((file) => mount === undefined || !patterns.some((pattern) => pattern.test(`${mount}/${file}`)))
      .map((file) =>
        mount === undefined
          ? `infra/alerts/${file} is not mounted into the prometheus service`
          : `infra/alerts/${file} (${mount}/${file} in the container) matches no rule_files entry of infra/compose/prometheus.yml`,
      );
    expect(problems).toEqual([]);
  });

  it('checks every app on its management port: the healthcheck asks MANAGEMENT_PORT, and no host port publishes it', () => {
    const problems = appServices
      .filter(([name]) => !isOneShot(name))
      .flatMap(([name, service]) => {
        const management = service.environment?.['MANAGEMENT_PORT'];
        const test = JSON.stringify((service as { healthcheck?: { test?: unknown } }).healthcheck?.test ?? '');
        return [
          ...(management && test.includes(`127.0.0.1:${management}/health/ready`)
            ? []
            : [`service ${name}'s healthcheck is not on MANAGEMENT_PORT ${management}`]),
          ...((service.ports ?? []).some((port) => String(typeof port === 'string' ? port : port.target).endsWith(`${management}`))
            ? [`service ${name} publishes its management port`]
            : []),
        ];
      });
    expect(problems).toEqual([]);
  });

  it('lets Prometheus scrape every long-running app on its management port', () => {
    const config = parse(readFileSync(repoPath('infra/compose/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        metrics_path?: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
      }[];
    };
    const targets = new Set(
      config.scrape_configs
        .filter((job) => job.metrics_path === '/metrics')
        .flatMap((job) => [
          ...(job.static_configs ?? []).flatMap((c) => c.targets),
          // A DNS lookup of a service name finds each of its replicas (--scale).
          ...(job.dns_sd_configs ?? []).filter((c) => c.type === 'A').flatMap((c) => c.names.map((name) => `${name}:${c.port}`)),
        ]),
    );
    const problems = appServices
      .filter(([name]) => !isOneShot(name))
      .filter(([name, service]) => !targets.has(`${name}:${service.environment?.['MANAGEMENT_PORT']}`))
      .map(([name]) => `infra/compose/prometheus.yml does not scrape ${name}`);
    expect(problems).toEqual([]);
  });

  /** [source, target, mode] of a service's volumes, sources as absolute paths. */
  const mounts = (service: ComposeService | undefined) =>
    (service?.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source ?? '', volume.target ?? '']));

  it('loads the alerting rules apps keep beside their code (apps/<system>/<app>/alert-rules.yml) into Prometheus, mounted and matched by rule_files', () => {
    const files = workspaceApps()
      .filter((app) => existsSync(repoPath(app.dir, 'alert-rules.yml')))
      .map((app) => `${app.dir}/alert-rules.yml`);
    expect(files.length).toBeGreaterThan(0);
    const patterns = ruleFilePatterns();
    const problems = files.flatMap((file) => {
      const target = mounts(resolved.services['prometheus']).find(([source]) => source === repoPath(file))?.[1];
      if (target === undefined) return [`${file} is not mounted into the prometheus service`];
      return patterns.some((pattern) => pattern.test(target))
        ? []
        : [`${file} (${target} in the container) matches no rule_files entry of infra/compose/prometheus.yml`];
    });
    expect(problems).toEqual([]);
  });

  // drop-system: metrics {
  describe('metrics-alerter', () => {
    const alerter = () => resolved.services['metrics-alerter'];
    const env = () => alerter()?.environment ?? {};

    it('reads infra/alerting/rules.json, mounted read-only at ALERT_RULES_FILE', () => {
      const mount = mounts(alerter()).find(([source]) => source === repoPath('infra/alerting/rules.json'));
      expect(mount?.[1]).toBe(env()['ALERT_RULES_FILE']);
      expect(mount?.[2]).toBe('ro');
    });

    // drop-system: notifications {
    it('calls notification-api with the issuer and audience it accepts, once it is healthy', () => {
      const api = resolved.services['notification-api']?.environment ?? {};
      expect({ issuer: env()['AUTH_JWT_ISSUER'], audience: env()['AUTH_JWT_AUDIENCE'] }).toEqual({
        issuer: api['AUTH_JWT_ISSUER'],
        audience: api['AUTH_JWT_AUDIENCE'],
      });
      expect(env()['NOTIFICATION_API_URL']).toBe(`http://notification-api:${api['HTTP_PORT']}`);
      expect(alerter()?.depends_on?.['notification-api']?.condition).toBe('service_healthy');
    });

    it('signs with the local-only private key of infra/compose/local-jwt-signing-key.json, whose public half notification-api trusts', () => {
      const { $comment: _comment, ...signing } = JSON.parse(
        readFileSync(repoPath('infra/compose/local-jwt-signing-key.json'), 'utf8'),
      ) as Record<string, string>;
      expect(JSON.parse(String(env()['ALERT_NOTIFIER_SIGNING_KEY']))).toEqual(signing);
      const trusted = JSON.parse(String(resolved.services['notification-api']?.environment?.['AUTH_JWT_PUBLIC_KEYS'])) as {
        keys: Record<string, string>[];
      };
      expect(trusted.keys).toEqual(
        expect.arrayContaining([expect.objectContaining({ kid: signing['kid'], x: signing['x'], y: signing['y'] })]),
      );
    });
    // drop-system }
  });
  // drop-system }

  it("watches the lag of every consumer group the autoscaled consumers join in stream-ops's LAG_GROUPS", () => {
    const watched = new Set(String(resolved.services['stream-ops']?.environment?.['LAG_GROUPS'] ?? '').split(','));
    const problems = Object.keys(inCheckout(KAFKA_SCALED_APPS)).flatMap((app) => {
      const env = resolved.services[app]?.environment ?? {};
      const groups = joinedGroups(app, (name) => (env[name] === undefined || env[name] === null ? undefined : String(env[name])));
      if (resolved.services[app] === undefined) return [`KAFKA_SCALED_APPS lists ${app}, which has no service`];
      return groups
        .map(({ group, topic }) => `${group}:${topic}`)
        .filter((pair) => !watched.has(pair))
        .map((pair) => `stream-ops LAG_GROUPS does not watch ${pair} (service ${app})`);
    });
    expect(problems).toEqual([]);
  });
});
