/**
 * The one test entry point (`./dev test`, also CI via .ci/run): static checks,
 * unit tests, then the integration tier against real local servers. Every step
 * runs even when an earlier one failed, so one run shows everything that is
 * wrong; the last line is the total over all test projects, `N passed, N failed`.
 *
 *   node tools/ci.ts          everything
 *   node tools/ci.ts check    lint, format, typecheck, unit tests, dropping each system (no servers)
 *
 * Test results are never replayed from a cache: jest runs directly, not
 * through Nx's (machine-wide, cross-clone) task cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = join(root, 'tmp', 'test-results');
const mode = process.argv[2] ?? 'all';
const failures: string[] = [];
const totals = { passed: 0, failed: 0 };

function run(step: string, command: string, args: string[], env: Record<string, string> = {}): boolean {
  console.log(`\n=== ${step}: ${[command, ...args].join(' ')}`);
  const started = Date.now();
  const { status } = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  console.log(`=== ${step}: ${status === 0 ? 'ok' : `FAILED (exit ${status})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (status !== 0) failures.push(step);
  return status === 0;
}

const PRODUCT_TEST = 'infra/local/product\\.int-spec\\.ts';

function jest(tier: 'unit' | 'int', extra: string[] = [], name: string = tier): void {
  const outputFile = join(results, `${name}.json`);
  rmSync(outputFile, { force: true });
  run(`${name} tests`, 'npx', ['jest', '-c', 'jest.config.ts', '--ci', '--json', `--outputFile=${outputFile}`, ...extra], {
    TEST_TIER: tier,
  });
  if (!existsSync(outputFile)) {
    failures.push(`${name} tests (no results written)`);
    return;
  }
  const summary = JSON.parse(readFileSync(outputFile, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numRuntimeErrorTestSuites: number;
  };
  totals.passed += summary.numPassedTests;
  // A suite that cannot even load counts as a failure too.
  totals.failed += summary.numFailedTests + summary.numRuntimeErrorTestSuites;
}

function ensureTools(): void {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) {
    console.log('docker-compose is missing (the deploy checks need it): sudo apt-get install docker-compose');
    return;
  }
  run('install docker-compose', 'bash', [
    '-c',
    'apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker-compose >/dev/null',
  ]);
}

/**
 * Prometheus and Jaeger, built from source for the product test (infra/local/go-tools.ts): minutes
 * on a machine that never built them, so in the background from the start, at the lowest priority.
 */
function buildGoToolsInBackground(): Promise<boolean> {
  const log = join(results, 'go-tools.log');
  const child = spawn('nice', ['-n', '19', 'node', 'infra/local/go-tools.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (code) => {
      writeFileSync(log, output);
      resolve(code === 0);
    }),
  );
}

mkdirSync(results, { recursive: true });
ensureTools();
const goTools = mode === 'all' ? buildGoToolsInBackground() : undefined;
// The module-boundary lint rule reads Nx's project graph and silently skips
// itself when none is cached (a fresh clone): compute it first.
if (run('project graph', 'npx', ['nx', 'show', 'projects', '--json'], { NX_DAEMON: 'false' })) {
  // Type-aware rules read one program of the whole repository (eslint.config.mjs): ~1.5 GB, ~15 s.
  run('lint', 'npx', ['eslint', '.', '--max-warnings=0']);
}
run('format', 'npx', ['prettier', '--check', '.', '--log-level=warn']);
run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
jest('unit');
// A fork can delete any one system: in a scratch copy per system, tools/drop-system.ts
// then the type check, lint and unit tier of what is left (docs/forking.md).
run('drop a system', 'node', ['tools/check-drop-system.ts']);

if (mode === 'all') {
  run('build apps', 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { NX_DAEMON: 'false' });
  const alreadyUp = spawnSync('node', ['infra/local/infra.ts', 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
  if (
    run('local servers', 'node', ['infra/local/infra.ts', 'up']) &&
    run('provision', 'npx', ['tsx', 'apps/platform/provision/src/main.ts'])
  ) {
    // One suite at a time: the brokers' JVMs already use both cores. The product test runs below, alone
    // (A command-line ignore list replaces the preset's, so it repeats it.)
    jest('int', ['--runInBand', '--testPathIgnorePatterns', '/node_modules/', '/dist/', PRODUCT_TEST]);
    // Every API against its own OpenAPI document: no 5xx, no answer outside its schema (installs schemathesis on first use).
    run('fuzz APIs', 'npx', ['tsx', 'tools/fuzz-apis.ts']);
  }
  if (!alreadyUp) run('stop local servers', 'node', ['infra/local/infra.ts', 'down']);
  // The whole product through ./dev up, on ports of its own, once Prometheus and Jaeger are built.
  const started = Date.now();
  const built = await goTools;
  console.log(
    `\n=== Prometheus and Jaeger ${built ? 'built' : 'FAILED to build'} (waited ${((Date.now() - started) / 1000).toFixed(1)} s; tmp/test-results/go-tools.log)`,
  );
  if (!built) failures.push('build Prometheus and Jaeger');
  jest('int', ['--runInBand', `--testPathPatterns=${PRODUCT_TEST}`], 'product');
}

console.log(failures.length ? `\nFailed steps: ${failures.join(', ')}` : '\nAll steps passed.');
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(failures.length > 0 || totals.failed > 0 ? 1 : 0);
