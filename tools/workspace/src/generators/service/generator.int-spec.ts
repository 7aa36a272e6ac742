import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyCheckout } from '../../scratch-copy';

/**
 * The generator end to end, as a fork runs it: in a scratch copy of this
 * checkout (tmp/generator-test: the files git knows, node_modules linked),
 * `nx g @qls/workspace:service` makes one service of each kind, then the copy
 * formats, type-checks, builds and lints them, and runs their unit specs, the
 * deploy checks of infra/deploy and their int specs against the local servers.
 * About 4 minutes on 2 cores; the copy is removed when everything passed.
 */
const root = join(__dirname, '../../../../..');
const copy = join(root, 'tmp', 'generator-test');
const services = [
  { path: 'sample/api', kind: 'http-api', name: 'sample-api' },
  { path: 'sample/worker', kind: 'sqs-consumer', name: 'sample-worker' },
  { path: 'sample/ledger', kind: 'kafka-consumer', name: 'sample-ledger' },
] as const;
const projects = services.map(({ name }) => name);

/** Nx in the copy computes its own project graph, never the checkout's cache. */
const nxEnv = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  NX_CACHE_DIRECTORY: join(copy, '.nx', 'cache'),
  NX_WORKSPACE_DATA_DIRECTORY: join(copy, '.nx', 'workspace-data'),
};

const timings: string[] = [];

/** Runs `command` in the copy and expects it to exit 0; fails with the tail of its output otherwise. */
function expectInCopy(step: string, command: string, args: string[], env: Record<string, string | undefined> = {}): void {
  const started = Date.now();
  const merged: NodeJS.ProcessEnv = { ...process.env, ...nxEnv };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: copy,
    env: merged,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  timings.push(`${step}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-60).join('\n');
    throw new Error(`${step} failed (exit ${result.status}, ${String(result.error ?? '')}) in ${copy}:\n${output}`);
  }
}

describe('nx g @qls/workspace:service (in a scratch copy of the workspace, real servers)', () => {
  afterAll(() => console.log(`generator test, by step:\n  ${timings.join('\n  ')}`));

  it(
    'makes an http-api, an sqs-consumer and a kafka-consumer that format, type-check, build, lint and pass their unit, deploy and int specs',
    () => {
      const started = Date.now();
      copyCheckout(root, copy);
      timings.push(`copy: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const { path, kind } of services)
        expectInCopy(`nx g ${path} --kind ${kind}`, 'npx', ['nx', 'g', '@qls/workspace:service', path, '--kind', kind]);

      expectInCopy('prettier', 'npx', [
        'prettier',
        '--check',
        'apps/sample',
        'docker-compose.yml',
        'infra/compose/prometheus.yml',
        'infra/provision/topology.json',
        'infra/deploy/deploy-contract.ts',
        'k8s',
      ]);
      // The new apps' code and specs, with the root settings (the whole repository takes a minute more).
      writeFileSync(
        join(copy, 'tsconfig.generated.json'),
        JSON.stringify({ extends: './tsconfig.json', include: ['apps/sample/**/*.ts'] }),
      );
      expectInCopy('typecheck', 'npx', ['tsc', '-p', 'tsconfig.generated.json', '--noEmit']);
      expectInCopy('build', 'npx', ['nx', 'run-many', '-t', 'build', '-p', projects.join(','), '--outputStyle=static', '--skip-nx-cache']);
      expectInCopy('lint', 'npx', ['eslint', '--max-warnings=0', 'apps/sample']);
      expectInCopy(
        'unit and deploy specs',
        'npx',
        ['jest', '-c', 'jest.config.ts', '--ci', '--selectProjects', ...projects, 'deploy-checks'],
        {
          TEST_TIER: undefined,
        },
      );
      expectInCopy('int specs', 'npx', ['jest', '-c', 'jest.config.ts', '--ci', '--runInBand', '--selectProjects', ...projects], {
        TEST_TIER: 'int',
      });

      rmSync(copy, { recursive: true, force: true });
      timings.push(`total: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    15 * 60_000,
  );
});
