import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './deploy-contract';

/**
 * The two command-line tools the checks need. Neither is skipped when missing:
 * the check fails and says what to install.
 */
const TOOLS = {
  kubectl: {
    versionArgs: ['version', '--client'],
    install:
      'install kubectl >= 1.27 (its built-in `kubectl kustomize` renders the overlays offline), e.g. apt-get install -y kubectl from the Kubernetes apt repository',
  },
  'docker-compose': {
    versionArgs: ['version', '--short'],
    install:
      "install docker-compose (Debian's 1.29 is enough and needs no Docker engine): apt-get update && apt-get install -y -o DPkg::Lock::Timeout=600 docker-compose",
  },
} as const;

export type Tool = keyof typeof TOOLS;

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const checked = new Set<string>();

/** Throws an error naming what to install when `tool` is not on PATH. */
export function requireTool(tool: Tool): void {
  const key = `${tool}\0${process.env['PATH'] ?? ''}`;
  if (checked.has(key)) return;
  const result = spawnSync(tool, TOOLS[tool].versionArgs, {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  if (result.error) {
    const reason = (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not on PATH' : `cannot run (${result.error.message})`;
    throw new Error(`${tool} ${reason}; ${TOOLS[tool].install}`);
  }
  checked.add(key);
}

/**
 * Runs `tool` from the repository root with only PATH and HOME in its
 * environment, so variables of the shell (or of infra/env/local.env, which the
 * jest preset loads) cannot fill in what the files themselves must provide.
 */
export function run(tool: Tool, args: readonly string[]): RunResult {
  requireTool(tool);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  };
  if (process.env['HOME']) env['HOME'] = process.env['HOME'];
  const result = spawnSync(tool, args, {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${tool} ${args.join(' ')} could not run: ${result.error.message}`);
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** A Kubernetes object as rendered: only the type fields are known. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Parses a multi-document YAML stream; throws on syntax errors and on documents that are not objects. */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [index, document] of parseAllDocuments(text).entries()) {
    if (document.errors.length > 0) {
      throw new Error(`${source}, document ${index + 1}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}, document ${index + 1} is not a YAML mapping`);
    const object = value as Partial<KubeObject>;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      throw new Error(`${source}, document ${index + 1} has no apiVersion/kind`);
    }
    objects.push(object as KubeObject);
  }
  return objects;
}

/** `kubectl kustomize <dir>` (dir relative to the repository root), parsed. */
export function renderKustomize(dir: string): KubeObject[] {
  const result = run('kubectl', ['kustomize', dir]);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${result.status}):\n${result.stderr.trim()}`);
  return parseManifests(result.stdout, `kubectl kustomize ${dir}`);
}

/** `docker-compose -f docker-compose.yml --env-file <envFile> config [extra]` from the repository root. */
export function composeConfig(envFile: string, extra: readonly string[] = []): RunResult {
  return run('docker-compose', ['-f', 'docker-compose.yml', '--env-file', envFile, 'config', ...extra]);
}

/** "Deployment/outbox-relay" */
export const describeObject = (object: KubeObject): string => `${object.kind}/${object.metadata?.name ?? '(unnamed)'}`;

/** Seconds of a compose duration (`1m30s`, `45s`, `500ms`); undefined when it cannot be read. */
export function composeDurationSeconds(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s|us)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 } as const;
  return parts.reduce((sum, part) => sum + Number(part[1]) * unit[part[2] as keyof typeof unit], 0);
}
