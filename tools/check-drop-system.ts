/**
 * Proves that a fork can drop a system (docs/forking.md): for each system, a
 * scratch copy of this checkout (tracked and untracked-not-ignored files, with
 * node_modules linked) under tmp/drop-system/<system>, `tools/drop-system.ts`
 * run there, then in the copy the type check, the lint of the projects the drop
 * touched (with the module-boundary rule, on the copy's own project graph) and
 * the unit tier of every remaining project, the infra/deploy checks of
 * docker-compose.yml, the Dockerfile and k8s/ included.
 *
 *   node tools/check-drop-system.ts [notifications|metrics|feeds ...]
 *
 * Exit status 0 when every step passed for every system.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { copyCheckout } from './workspace/src/scratch-copy.ts';

const root = join(import.meta.dirname, '..');
const systems = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['notifications', 'metrics', 'feeds'];
const failures: string[] = [];

function step(
  system: string,
  name: string,
  cwd: string,
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): boolean {
  const started = Date.now();
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete merged[key];
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: merged as NodeJS.ProcessEnv, maxBuffer: 256 * 1024 * 1024 });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  console.log(`--- ${system}: ${name} ${ok ? 'ok' : `FAILED (exit ${result.status})`} in ${seconds} s`);
  if (!ok) {
    failures.push(`${system}: ${name}`);
    console.log(`${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-80).join('\n'));
  }
  return ok;
}

for (const system of systems) {
  const copy = join(root, 'tmp', 'drop-system', system);
  const started = Date.now();
  copyCheckout(root, copy);
  const dropped = spawnSync('node', ['tools/drop-system.ts', system], { cwd: copy, encoding: 'utf8' });
  console.log(`=== drop ${system}: node tools/drop-system.ts ${system}\n${dropped.stdout}${dropped.stderr}`);
  if (dropped.status !== 0) {
    failures.push(`${system}: drop-system exited ${dropped.status}`);
    continue;
  }
  // Every project of the copy's own graph, computed in the copy (never the main checkout's cache).
  const nx = {
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_CACHE_DIRECTORY: join(copy, '.nx', 'cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(copy, '.nx', 'workspace-data'),
  };
  step(system, 'typecheck', copy, 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  if (step(system, 'project graph', copy, 'npx', ['nx', 'show', 'projects', '--json'], nx)) {
    // What the drop can break: the files it edited, apps/ops (the one group
    // allowed to import every system), the deploy checks and tools. The other
    // projects are byte for byte the ones the main lint step checked, and may
    // import only their own system and the platform (module boundaries); lint
    // of the whole copy would take ~90 s of both cores per system.
    const edited = dropped.stdout
      .split('\n')
      .map((line) => /^\s+edit\s+([^:]+\.(?:ts|mjs)):/.exec(line)?.[1])
      .filter((file): file is string => file !== undefined);
    step(system, 'lint', copy, 'npx', ['eslint', '--max-warnings=0', 'apps/ops', 'infra/deploy', 'tools', ...edited], nx);
  }
  step(system, 'unit tests', copy, 'npx', ['jest', '-c', 'jest.config.ts', '--ci', '--silent'], { TEST_TIER: undefined });
  console.log(`=== drop ${system}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

console.log(
  failures.length > 0
    ? `\nFailed: ${failures.join(', ')}`
    : `\nDropping ${systems.join(', ')} (one at a time) leaves a repository that type-checks, lints and passes its unit tests.`,
);
process.exit(failures.length > 0 ? 1 : 0);
