/**
 * The one test entry point (`./dev test`, also CI via .ci/run): static checks,
 * unit tests, then the integration tier against real local servers. Every step
 * runs even when an earlier one failed, so one run shows everything that is
 * wrong; the last line is the total over all test projects, `N passed, N failed`.
 *
 *   node tools/ci.ts          everything
 *   node tools/ci.ts check    lint, format, typecheck, unit tests (no servers)
 *
 * Test results are never replayed from a cache: jest runs directly, not
 * through Nx's (machine-wide, cross-clone) task cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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

function jest(tier: 'unit' | 'int', extra: string[] = []): void {
  const outputFile = join(results, `${tier}.json`);
  rmSync(outputFile, { force: true });
  run(`${tier} tests`, 'npx', ['jest', '-c', 'jest.config.ts', '--ci', '--json', `--outputFile=${outputFile}`, ...extra], {
    TEST_TIER: tier,
  });
  if (!existsSync(outputFile)) {
    failures.push(`${tier} tests (no results written)`);
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

mkdirSync(results, { recursive: true });
ensureTools();
// The module-boundary lint rule reads Nx's project graph and silently skips
// itself when none is cached (a fresh clone): compute it first.
if (run('project graph', 'npx', ['nx', 'show', 'projects', '--json'], { NX_DAEMON: 'false' })) {
  // Type-aware rules keep a TypeScript program per project in memory: ~5 GB for
  // the whole repository, more than Node's default heap.
  run('lint', 'npx', ['eslint', '.', '--max-warnings=0'], {
    NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --max-old-space-size=8192`,
  });
}
run('format', 'npx', ['prettier', '--check', '.', '--log-level=warn']);
run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
jest('unit');

if (mode === 'all') {
  run('build apps', 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { NX_DAEMON: 'false' });
  const alreadyUp = spawnSync('node', ['infra/local/infra.ts', 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
  if (run('local servers', 'node', ['infra/local/infra.ts', 'up']) && run('provision', 'npx', ['tsx', 'apps/provision/src/main.ts'])) {
    // One suite at a time: the brokers' JVMs already use both cores.
    jest('int', ['--runInBand']);
    // Every API against its own OpenAPI document: no 5xx, no answer outside its schema (installs schemathesis on first use).
    run('fuzz APIs', 'npx', ['tsx', 'tools/fuzz-apis.ts']);
  }
  if (!alreadyUp) run('stop local servers', 'node', ['infra/local/infra.ts', 'down']);
}

console.log(failures.length ? `\nFailed steps: ${failures.join(', ')}` : '\nAll steps passed.');
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(failures.length > 0 || totals.failed > 0 ? 1 : 0);
