/**
 * Jaeger and Prometheus as local servers (infra.ts runs them like the others when asked:
 * `./dev up` does, `./dev up servers` and the tests do not). Both are built from source
 * (go-tools.ts), so neither has its web UI: their HTTP APIs work fully.
 *
 * Prometheus reads what docker-compose.yml's Prometheus reads: the global settings and the
 * rule files of infra/compose/prometheus.yml, found through the compose service's mounts; it
 * scrapes the apps `./dev up` runs from `<data dir>/prometheus/targets.json`, which product.ts
 * rewrites whenever the plan changes (one target per process, labelled service=<app>).
 */
import { existsSync, globSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { type Settings } from './config.ts';
import { goTool } from './go-tools.ts';
import { httpOk } from './probes.ts';
import { type Launch } from './procs.ts';
import type { Server, ServerHome } from './servers.ts';

const HERE = import.meta.dirname;
const PROBE_TIMEOUT_MS = 2_000;

export const JAEGER: Server = {
  name: 'jaeger',
  optional: true,
  ports: (s) => [s.jaeger.otlpPort, s.jaeger.queryPort, s.jaeger.grpcPort, s.jaeger.healthPort],
  address: (s) => `http://127.0.0.1:${s.jaeger.queryPort}/api/services (OTLP http://127.0.0.1:${s.jaeger.otlpPort})`,
  prepare: prepareJaeger,
  ready: (s) => httpOk(`http://127.0.0.1:${s.jaeger.healthPort}/status`, PROBE_TIMEOUT_MS),
  stopSignal: 'SIGTERM',
};

export const PROMETHEUS: Server = {
  name: 'prometheus',
  optional: true,
  ports: (s) => [s.prometheus.port],
  address: (s) => `http://127.0.0.1:${s.prometheus.port}/api/v1/targets`,
  prepare: preparePrometheus,
  ready: (s) => httpOk(`http://127.0.0.1:${s.prometheus.port}/-/ready`, PROBE_TIMEOUT_MS),
  stopSignal: 'SIGTERM',
};

async function prepareJaeger(s: Settings, home: ServerHome): Promise<Launch> {
  const bin = await goTool(s.toolCacheDir, 'jaeger');
  const template = readFileSync(join(HERE, 'jaeger', 'config.yaml'), 'utf8');
  const values: Record<string, number> = {
    OTLP_HTTP_PORT: s.jaeger.otlpPort,
    QUERY_HTTP_PORT: s.jaeger.queryPort,
    QUERY_GRPC_PORT: s.jaeger.grpcPort,
    HEALTH_PORT: s.jaeger.healthPort,
  };
  const config = join(home.dir, 'config.yaml');
  writeFileSync(
    config,
    template.replace(/\{\{(\w+)\}\}/g, (placeholder, key: string) => {
      if (!(key in values)) throw new Error(`jaeger/config.yaml: no value for ${placeholder}`);
      return String(values[key]);
    }),
  );
  return { command: join(bin, 'jaeger'), args: ['--config', config], cwd: home.dir, logPath: home.logPath };
}

/** Where product.ts writes the scrape targets (Prometheus's file service discovery). */
export const prometheusTargetsPath = (s: Settings): string => join(s.dataDir, 'prometheus', 'targets.json');

async function preparePrometheus(s: Settings, home: ServerHome): Promise<Launch> {
  const bin = await goTool(s.toolCacheDir, 'prometheus');
  const targets = prometheusTargetsPath(s);
  if (!existsSync(targets)) writeFileSync(targets, '[]\n');
  const config = join(home.dir, 'prometheus.yml');
  writeFileSync(config, stringify(localPrometheusConfig(s.repoRoot, targets)));
  mkdirSync(join(home.dir, 'data'), { recursive: true });
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(home.dir, 'data')}`,
    '--storage.tsdb.retention.time=2d',
    `--web.listen-address=127.0.0.1:${s.prometheus.port}`,
  ];
  return { command: join(bin, 'prometheus'), args, cwd: home.dir, logPath: home.logPath };
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs?: unknown[];
}

/** compose's Prometheus configuration with the rule files where the repository keeps them and the apps found in `targetsPath`. */
export function localPrometheusConfig(repoRoot: string, targetsPath: string): PrometheusConfig {
  const compose = parse(readFileSync(join(repoRoot, 'infra/compose/prometheus.yml'), 'utf8')) as PrometheusConfig;
  return {
    global: compose.global,
    rule_files: ruleFiles(repoRoot, compose.rule_files ?? []),
    scrape_configs: [
      {
        job_name: 'apps',
        metrics_path: '/metrics',
        file_sd_configs: [{ files: [targetsPath], refresh_interval: '5s' }],
      },
    ],
  };
}

/**
 * The repository files behind compose's rule_files globs, through the prometheus service's
 * mounts: a mounted folder maps the glob into the repository, a mounted file counts when the
 * glob matches where it is mounted.
 */
export function ruleFiles(repoRoot: string, globs: readonly string[]): string[] {
  const services = (parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile).services;
  const mounts = (services?.['prometheus']?.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter((parts): parts is [string, string, ...string[]] => parts.length >= 2 && (parts[0] ?? '').startsWith('.'));
  const files = globs.flatMap((glob) =>
    mounts.flatMap(([source, target]) => {
      const host = resolve(repoRoot, source);
      if (glob.startsWith(`${target}/`)) return globSync(join(host, glob.slice(target.length + 1)));
      return globMatches(glob, target) ? [host] : [];
    }),
  );
  return [...new Set(files)].sort();
}

interface ComposeFile {
  services?: Record<string, { volumes?: string[] }>;
}

function globMatches(glob: string, path: string): boolean {
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${pattern}$`).test(path);
}

/** What product.ts writes for Prometheus: one target per process, labelled with its app and process name. */
export function prometheusTargets(processes: readonly { name: string; app: string; managementPort: number }[]): unknown[] {
  return processes.map((process) => ({
    targets: [`127.0.0.1:${process.managementPort}`],
    labels: { service: process.app, process: process.name },
  }));
}
