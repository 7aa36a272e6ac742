import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  APP_ENV,
  LOCAL_ONLY_ENV,
  ONE_SHOT_APPS,
  SERVERS,
  STATELESS_SERVERS,
  deployableApps,
  readEnvFile,
  repoPath,
} from './deploy-contract';
import { credentialProblem, imageProblem } from './deploy-policy';
import { composeConfig } from './deploy-tools';

interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string };
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  restart?: string;
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
      const missing = APP_ENV.filter((variable) => environment[variable] === undefined || environment[variable] === '');
      return [
        ...(missing.length > 0 ? [`service ${name} does not set ${missing.join(', ')}`] : []),
        ...(['SERVICE_NAME', 'OTEL_SERVICE_NAME'] as const)
          .filter((variable) => environment[variable] !== name)
          .map((variable) => `service ${name} sets ${variable}=${environment[variable]}`),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('sets every variable of infra/env/local.env that is not local-only', () => {
    const needed = Object.keys(readEnvFile(repoPath('infra/env/local.env'))).filter((name) => !(name in LOCAL_ONLY_ENV));
    const problems = appServices.flatMap(([name, service]) =>
      needed
        .filter((variable) => service.environment?.[variable] === undefined)
        .map((variable) => `service ${name} does not set ${variable} (infra/env/local.env does)`),
    );
    expect(problems).toEqual([]);
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

  it('lets Prometheus scrape every long-running app', () => {
    const config = parse(readFileSync(repoPath('infra/compose/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        metrics_path?: string;
        static_configs?: { targets: string[] }[];
      }[];
    };
    const targets = new Set(
      config.scrape_configs
        .filter((job) => job.metrics_path === '/metrics')
        .flatMap((job) => (job.static_configs ?? []).flatMap((c) => c.targets)),
    );
    const problems = appServices
      .filter(([name]) => !isOneShot(name))
      .filter(([name, service]) => !targets.has(`${name}:${service.environment?.['HTTP_PORT'] ?? 3000}`))
      .map(([name]) => `infra/compose/prometheus.yml does not scrape ${name}`);
    expect(problems).toEqual([]);
  });
});
