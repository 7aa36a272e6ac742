/**
 * The whole product on this machine, without Docker. `./dev` runs it:
 *
 *   up [--no-observability] [--no-build]   servers (with Jaeger and Prometheus unless told not to),
 *                                          provisioning, an incremental build, then every app under
 *                                          the supervisor; waits until each one is ready
 *   status                                 every server and app: pid, port, readiness, restarts
 *   logs <name> [-f]                       the last lines of one server's or app's log (-f follows)
 *   start|stop|restart <name>              one app, or one replica (notification-worker-2)
 *   down                                   apps first (SIGTERM, each drains), then the servers
 *
 * Each app runs with docker-compose.yml's environment, pointed at this machine (app-plan.ts).
 * docs/running-locally.md explains it all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { ConfigError, readSettings, type Settings } from './config.ts';
import { parseReplicas, PlanError, planProcesses, type ProcessPlan, readComposeApps, readComposeServices, readDotEnv } from './app-plan.ts';
import { prometheusTargets, prometheusTargetsPath } from './observability.ts';
import { httpOk } from './probes.ts';
import { isOurs, readPid, spawnDetached, stopTree, tail, waitFor } from './procs.ts';
import { SERVER_NAMES } from './servers.ts';
import { type Plan, type ProcessStatus, supervisorFiles, type SupervisorFiles } from './supervisor.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const DATA_SERVERS = ['kafka', 'elasticmq', 'postgres', 'redis'];
const OBSERVABILITY_SERVERS = ['jaeger', 'prometheus'];
const USAGE = 'usage: ./dev <up [--no-observability] [--no-build] | status | down | logs <name> [-f] | start|stop|restart <name>>';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const s = readSettings(process.env, REPO_ROOT);
  const files = supervisorFiles(join(s.dataDir, 'apps'));
  switch (command) {
    case 'up':
      return up(s, files, args);
    case 'down':
      return down(files);
    case 'status':
      return status(files);
    case 'logs':
      return logs(files, args);
    case 'start':
    case 'stop':
    case 'restart':
      return args.length === 1 ? control(files, command, args[0] ?? '') : usage();
    default:
      return usage();
  }
}

function usage(): number {
  console.error(USAGE);
  return 2;
}

/** Runs a step in the foreground with its output on ours; false when it failed. */
function step(name: string, command: string, args: readonly string[]): boolean {
  console.log(`\n--- ${name}`);
  const { status } = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
  if (status !== 0) console.error(`--- ${name} FAILED (exit ${status})`);
  return status === 0;
}

// ---------------------------------------------------------------- up

async function up(s: Settings, files: SupervisorFiles, flags: readonly string[]): Promise<number> {
  const unknown = flags.filter((flag) => !['--no-observability', '--no-build'].includes(flag));
  if (unknown.length > 0) return usage();
  const observability = !flags.includes('--no-observability');
  const plan = makePlan(s, observability);
  const servers = [...DATA_SERVERS, ...(observability ? OBSERVABILITY_SERVERS : [])];
  if (!step('servers', process.execPath, ['infra/local/infra.ts', 'up', ...servers])) return 1;
  if (!step('provision', 'npx', ['tsx', 'apps/platform/provision/src/main.ts'])) return 1;
  if (!flags.includes('--no-build') && !step('build', 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'])) return 1;
  if (observability) writeFileSync(prometheusTargetsPath(s), `${JSON.stringify(prometheusTargets(plan.processes), null, 2)}\n`);

  console.log('\n--- apps');
  mkdirSync(files.dir, { recursive: true });
  const planText = `${JSON.stringify(plan, null, 2)}\n`;
  const running = supervisorPid(files);
  if (running !== undefined && existsSync(files.plan) && readFileSync(files.plan, 'utf8') === planText) {
    console.log(`supervisor already running (pid ${running}) with this plan`);
    await restartRebuilt(files);
  } else {
    if (running !== undefined) {
      console.log('the plan changed: stopping the apps to start them again with it');
      await stopSupervisor(files);
    }
    // Each process's environment, local-only passwords and keys included: readable by its owner only.
    writeFileSync(files.plan, planText);
    chmodSync(files.plan, 0o600);
    const pid = await spawnDetached({
      command: process.execPath,
      args: [join(import.meta.dirname, 'supervisor.ts'), files.dir],
      cwd: files.dir,
      logPath: files.log,
    });
    if (!(await waitFor(async () => (await supervisorStatus(files)) !== undefined, 10_000, 100))) {
      console.error(`the supervisor (pid ${pid}) did not answer; its log: ${files.log}`);
      return 1;
    }
  }
  const ready = await awaitReady(files, plan.processes, s.timeoutMs + 60_000);
  printSummary(s, plan.processes, observability);
  return ready ? 0 : 1;
}

/** Restarts the apps whose build is newer than their running process (the build above changed them). */
async function restartRebuilt(files: SupervisorFiles): Promise<void> {
  const processes = (await supervisorStatus(files)) ?? [];
  const rebuilt = [
    ...new Set(processes.filter((p) => p.startedAt !== undefined && builtAt(p.app) > Date.parse(p.startedAt)).map((p) => p.app)),
  ];
  for (const app of rebuilt) {
    console.log(`${app}: its build changed; restarting`);
    await ask(files, 'POST', `/restart/${app}`, 120_000);
  }
}

function builtAt(app: string): number {
  const entry = join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
  return existsSync(entry) ? statSync(entry).mtimeMs : 0;
}

/** The processes of every app in docker-compose.yml, their environment pointed at this machine. */
function makePlan(s: Settings, observability: boolean): Plan {
  // Compose fills ${VAR} from .env (made from .env.example); ./dev has loaded infra/env/local.env and .env.
  const vars = { ...readDotEnv(join(REPO_ROOT, '.env.example')), ...process.env };
  const compose = join(REPO_ROOT, 'docker-compose.yml');
  const apps = readComposeApps(compose, vars);
  const processes = planProcesses(
    apps,
    {
      env: process.env,
      otlpEndpoint: observability ? `http://127.0.0.1:${s.jaeger.otlpPort}` : undefined,
      portOffset: portOffset(process.env['QLS_APP_PORT_OFFSET']),
      replicas: parseReplicas(process.env['QLS_REPLICAS']),
      composeServices: readComposeServices(compose),
    },
    REPO_ROOT,
  );
  return { repoRoot: REPO_ROOT, processes };
}

function portOffset(text: string | undefined): number {
  const offset = Number(text?.trim() || '0');
  if (!Number.isInteger(offset) || offset < 0 || offset > 50_000)
    throw new PlanError(`QLS_APP_PORT_OFFSET must be 0..50000, got "${text}"`);
  return offset;
}

async function awaitReady(files: SupervisorFiles, processes: readonly ProcessPlan[], timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  let lastLine = '';
  let notReady: string[] = [];
  const allReady = await waitFor(
    async () => {
      const checks = await Promise.all(processes.map((p) => httpOk(`http://127.0.0.1:${p.managementPort}/health/ready`, 2_000)));
      notReady = processes.filter((_, i) => !checks[i]).map((p) => p.name);
      const line = `${processes.length - notReady.length}/${processes.length} apps ready`;
      if (line !== lastLine) console.log(`${line} (${Math.round((Date.now() - started) / 1000)} s)`);
      lastLine = line;
      return notReady.length === 0;
    },
    timeoutMs,
    1_000,
  );
  if (!allReady) {
    console.error(`\nnot ready after ${Math.round(timeoutMs / 1000)} s: ${notReady.join(', ')}`);
    for (const name of notReady) {
      console.error(`\n${name}: last lines of ${files.processLog(name)}`);
      for (const line of tail(files.processLog(name), 15)) console.error(`  | ${line}`);
    }
  }
  return allReady;
}

function printSummary(s: Settings, processes: readonly ProcessPlan[], observability: boolean): void {
  console.log('\nThe product runs on this machine:');
  for (const p of processes.filter((candidate) => candidate.published)) {
    console.log(`  ${p.name.padEnd(26)} http://127.0.0.1:${p.httpPort}  (OpenAPI: /openapi.json)`);
  }
  const workers = processes.filter((p) => !p.published).map((p) => p.name);
  console.log(`  ${'consumers'.padEnd(26)} ${workers.join(', ')}`);
  console.log('  every app serves /metrics and /health/ready on its management port (./dev status)');
  if (observability) {
    console.log(
      `  ${'Prometheus (API only)'.padEnd(26)} http://127.0.0.1:${s.prometheus.port}/api/v1/targets, /api/v1/rules, /api/v1/alerts`,
    );
    console.log(
      `  ${'Jaeger (API only)'.padEnd(26)} http://127.0.0.1:${s.jaeger.queryPort}/api/services, /api/traces?service=notification-api`,
    );
  }
  console.log('\nA token for an API: ./dev token notification-api user-1   (operators: ./dev token qls-ops alice "ops:read ops:write")');
  console.log('Then: ./dev demo, ./dev status, ./dev logs <name>, ./dev down. docs/running-locally.md has the rest.');
}

// ---------------------------------------------------------------- the supervisor's socket

function supervisorPid(files: SupervisorFiles): number | undefined {
  const pid = readPid(files.pid);
  return pid !== undefined && isOurs(pid, [files.dir]) ? pid : undefined;
}

function ask<T>(
  files: SupervisorFiles,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs: number,
): Promise<{ code: number; body: T } | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath: files.socket, method, path, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text || 'null') as T }));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

async function supervisorStatus(files: SupervisorFiles): Promise<ProcessStatus[] | undefined> {
  if (supervisorPid(files) === undefined) return undefined;
  return (await ask<ProcessStatus[]>(files, 'GET', '/status', 5_000))?.body;
}

/** Asks the supervisor to stop every app and exit; kills what is left if it cannot. */
async function stopSupervisor(files: SupervisorFiles): Promise<void> {
  const pid = readPid(files.pid);
  if (pid === undefined) return;
  const plan = existsSync(files.plan) ? (JSON.parse(readFileSync(files.plan, 'utf8')) as Plan) : undefined;
  const graceMs = Math.max(10_000, ...(plan?.processes ?? []).map((p) => p.stopGraceMs)) + 10_000;
  if (isOurs(pid, [files.dir])) {
    const answer = await ask(files, 'POST', '/shutdown', graceMs);
    if (answer?.code !== 200) console.error('the supervisor did not answer; stopping it and its apps by signal');
    await waitFor(() => !isOurs(pid, [files.dir]), 5_000);
  }
  // The supervisor leads the process group of every app it started: whatever outlived it goes too.
  try {
    process.kill(-pid, 'SIGTERM');
    await waitFor(() => !groupAlive(pid), graceMs);
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no process left in the group
  }
  if (isOurs(pid, [files.dir])) await stopTree(pid, 'SIGKILL', 5_000);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- down, status, logs, control

async function down(files: SupervisorFiles): Promise<number> {
  if (readPid(files.pid) !== undefined) {
    console.log('apps      stopping (SIGTERM; each drains within its grace period)');
    await stopSupervisor(files);
    console.log('apps      stopped');
  } else {
    console.log('apps      not running');
  }
  return step('servers', process.execPath, ['infra/local/infra.ts', 'down']) ? 0 : 1;
}

async function status(files: SupervisorFiles): Promise<number> {
  const servers = spawnSync(process.execPath, ['infra/local/infra.ts', 'status', ...SERVER_NAMES], { cwd: REPO_ROOT, stdio: 'inherit' });
  const processes = await supervisorStatus(files);
  if (processes === undefined) {
    console.log('apps      not running (./dev up)');
    return 3;
  }
  const ready = await Promise.all(
    processes.map((p) => (p.state === 'running' ? httpOk(`http://127.0.0.1:${p.managementPort}/health/ready`, 2_000) : false)),
  );
  console.log(
    `\n${'app'.padEnd(26)} ${'state'.padEnd(9)} ${'pid'.padEnd(8)} ${'port'.padEnd(6)} ${'mgmt'.padEnd(6)} ${'ready'.padEnd(6)} restarts  last exit`,
  );
  processes.forEach((p, i) => {
    const cells = [
      p.name.padEnd(26),
      p.state.padEnd(9),
      String(p.pid ?? '-').padEnd(8),
      String(p.httpPort).padEnd(6),
      String(p.managementPort).padEnd(6),
    ];
    console.log(`${cells.join(' ')} ${(ready[i] ? 'yes' : 'no').padEnd(6)} ${String(p.restarts).padEnd(9)} ${p.lastExit ?? ''}`);
  });
  return servers.status === 0 && ready.every(Boolean) ? 0 : 3;
}

async function logs(files: SupervisorFiles, args: readonly string[]): Promise<number> {
  const follow = args.includes('-f') || args.includes('--follow');
  const names = args.filter((arg) => !arg.startsWith('-'));
  if (names.length !== 1) return usage();
  const name = names[0] ?? '';
  if ((SERVER_NAMES as readonly string[]).includes(name)) {
    if (!follow)
      return spawnSync(process.execPath, ['infra/local/infra.ts', 'logs', name], { cwd: REPO_ROOT, stdio: 'inherit' }).status ?? 1;
  }
  const plan = existsSync(files.plan) ? (JSON.parse(readFileSync(files.plan, 'utf8')) as Plan) : { processes: [] };
  const paths = (SERVER_NAMES as readonly string[]).includes(name)
    ? [join(files.dir, '..', name, 'server.log')]
    : plan.processes.filter((p) => p.name === name || p.app === name).map((p) => files.processLog(p.name));
  if (paths.length === 0) {
    console.error(`no server, app or process named ${name} (./dev status lists them)`);
    return 2;
  }
  // tail prints a "==> file <==" header per file when there are several (an app's replicas).
  const child = spawn('tail', ['-n', '200', ...(follow ? ['-F'] : []), ...paths], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 0)));
}

async function control(files: SupervisorFiles, verb: 'start' | 'stop' | 'restart', name: string): Promise<number> {
  if (supervisorPid(files) === undefined) {
    console.error('apps are not running (./dev up)');
    return 3;
  }
  const answer = await ask<ProcessStatus[] | { error: string }>(files, 'POST', `/${verb}/${encodeURIComponent(name)}`, 120_000);
  if (answer === undefined || answer.code !== 200 || !Array.isArray(answer.body)) {
    console.error(`${verb} ${name}: ${answer && !Array.isArray(answer.body) ? answer.body.error : 'the supervisor did not answer'}`);
    return 1;
  }
  for (const p of answer.body) console.log(`${p.name.padEnd(26)} ${p.state}${p.pid === undefined ? '' : ` (pid ${p.pid})`}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof PlanError ? `dev: ${error.message}` : error);
    process.exitCode = 2;
  },
);
