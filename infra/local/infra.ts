/**
 * Local server manager: runs real Kafka, ElasticMQ, Postgres and Redis as processes on
 * 127.0.0.1, configured from the same environment variables as the apps (infra/env/local.env).
 *
 *   node infra/local/infra.ts up|down|status|logs [server]
 *
 * See infra/local/README.md.
 */
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, readSettings, type Settings } from './config.ts';
import {
  childExited,
  isOurs,
  portInUse,
  readPid,
  removePid,
  rotateLog,
  spawnDetached,
  stopTree,
  tail,
  waitFor,
  writePid,
} from './procs.ts';
import { type Server, type ServerHome, SERVER_NAMES, SERVERS } from './servers.ts';

const USAGE = `usage: node infra/local/infra.ts <up|down|status|logs> [${SERVER_NAMES.join('|')}...]`;
const STOP_GRACE_MS = 30_000;
const LOG_TAIL_ON_FAILURE = 20;

/** What one `up` did: servers it started, and where their logs stood before, to report only this run's lines. */
interface Run {
  readonly started: Server[];
  readonly logFrom: Map<Server, number>;
}

class ServerFailure extends Error {
  readonly server: Server;
  constructor(server: Server, message: string) {
    super(message);
    this.server = server;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  const commands: Record<string, (s: Settings, servers: readonly Server[], only?: string) => Promise<number>> = { up, down, status, logs };
  const run = command === undefined ? undefined : commands[command];
  const unknown = names.filter((name) => !(SERVER_NAMES as readonly string[]).includes(name));
  if (!run || unknown.length > 0 || (command === 'logs' && names.length > 1)) {
    console.error(USAGE);
    return 2;
  }
  // Unnamed, `up` and `status` mean the servers the tests need; `down` stops every one that runs.
  const servers = SERVERS.filter((server) =>
    names.length > 0 ? names.includes(server.name) : command === 'down' || command === 'logs' || !server.optional,
  );
  const s = readSettings(process.env, resolve(import.meta.dirname, '../..'));
  return run(s, servers, names[0]);
}

function home(s: Settings, server: Server): ServerHome {
  const dir = join(s.dataDir, server.name);
  return {
    dir,
    logPath: join(dir, 'server.log'),
    pidPath: join(dir, 'server.pid'),
  };
}

/** Where a process of the server started from this data dir runs: its data dir, and any work dir of its own. */
function processDirs(s: Settings, server: Server): string[] {
  const h = home(s, server);
  return [h.dir, ...(server.workDirs?.(h) ?? [])];
}

/** The pid of the server started from this data dir, if it is still running. */
function runningPid(s: Settings, server: Server): number | undefined {
  const pid = readPid(home(s, server).pidPath);
  return pid !== undefined && isOurs(pid, processDirs(s, server)) ? pid : undefined;
}

function logSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

function say(server: Server, message: string): void {
  console.log(`${server.name.padEnd(9)} ${message}`);
}

// ---------------------------------------------------------------- up

async function up(s: Settings, servers: readonly Server[]): Promise<number> {
  const run: Run = { started: [], logFrom: new Map() };
  const toStart = servers.filter((server) => runningPid(s, server) === undefined);
  const busy = await busyPorts(s, toStart);
  if (busy.length > 0) return reportFailures(s, busy, run);

  const results = await Promise.allSettled(servers.map((server) => bringUp(s, server, run)));
  const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [asFailure(servers[i], result.reason)] : []));
  return failures.length === 0 ? 0 : reportFailures(s, failures, run);
}

/** Ports of servers about to start that some other process already holds: fail before starting anything. */
async function busyPorts(s: Settings, servers: readonly Server[]): Promise<ServerFailure[]> {
  const checks = servers.flatMap((server) =>
    server.ports(s).map(async (port) => ((await portInUse(port)) ? ([server, port] as const) : undefined)),
  );
  return (await Promise.all(checks))
    .filter((hit) => hit !== undefined)
    .map(
      ([server, port]) =>
        new ServerFailure(server, `port ${port} on 127.0.0.1 is already in use by another process (not this data dir's ${server.name})`),
    );
}

async function bringUp(s: Settings, server: Server, run: Run): Promise<void> {
  const running = runningPid(s, server);
  if (running !== undefined) {
    if (!(await server.ready(s))) {
      say(server, `running (pid ${running}) but not answering yet; waiting`);
      await awaitReady(s, server, running);
    }
    say(server, `already running (pid ${running}) at ${server.address(s)}`);
    return;
  }
  const since = Date.now();
  const pid = await start(s, server, run);
  await awaitReady(s, server, pid, true);
  await server.afterStart?.(s, home(s, server));
  say(server, `started (pid ${pid}) at ${server.address(s)}, ready in ${((Date.now() - since) / 1000).toFixed(1)} s`);
}

async function start(s: Settings, server: Server, run: Run): Promise<number> {
  const h = home(s, server);
  mkdirSync(h.dir, { recursive: true, mode: 0o755 });
  removePid(h.pidPath);
  rotateLog(h.logPath, 20 * 1024 * 1024);
  run.logFrom.set(server, logSize(h.logPath));
  appendFileSync(h.logPath, `==== ${new Date().toISOString()} infra.ts up: starting ${server.name} ====\n`);
  const launch = await server.prepare(s, h);
  const pid = await spawnDetached(launch);
  writePid(h.pidPath, pid);
  run.started.push(server);
  return pid;
}

/**
 * Waits for the server's readiness probe. A server this run started is watched as its child (its
 * exit is certain); one found running, through /proc (a read that raced a busy JVM's start once
 * said it was gone while it was not).
 */
async function awaitReady(s: Settings, server: Server, pid: number, startedHere = false): Promise<void> {
  const dirs = processDirs(s, server);
  const ready = await waitFor(
    async () => {
      const gone = startedHere ? childExited(pid) : !isOurs(pid, dirs);
      if (gone) throw new ServerFailure(server, `exited while starting (pid ${pid})`);
      return server.ready(s);
    },
    s.timeoutMs,
    250,
  );
  if (!ready) throw new ServerFailure(server, `not ready after ${s.timeoutMs} ms (QLS_INFRA_TIMEOUT_MS)`);
}

function asFailure(server: Server, reason: unknown): ServerFailure {
  if (reason instanceof ServerFailure) return reason;
  return new ServerFailure(server, reason instanceof Error ? reason.message : String(reason));
}

/** Names each failed server with what it logged during this run, then stops whatever this run started. */
async function reportFailures(s: Settings, failures: readonly ServerFailure[], run: Run): Promise<number> {
  for (const failure of failures) {
    const { name } = failure.server;
    const { logPath } = home(s, failure.server);
    const from = run.logFrom.get(failure.server);
    const lines = from === undefined ? [] : tail(logPath, LOG_TAIL_ON_FAILURE, from);
    console.error(`\n${name}: FAILED: ${failure.message}`);
    if (from === undefined) console.error(`${name}: not started by this run; its log is ${logPath}`);
    else console.error(`${name}: log ${logPath}, last ${lines.length} lines of this run:`);
    for (const line of lines) console.error(`  | ${line}`);
  }
  if (run.started.length > 0) {
    console.error(`\nstopping what this run started: ${run.started.map((server) => server.name).join(', ')}`);
    await down(s, run.started);
  }
  return 1;
}

// ---------------------------------------------------------------- down

async function down(s: Settings, servers: readonly Server[]): Promise<number> {
  const results = await Promise.allSettled(servers.map((server) => stop(s, server)));
  let code = 0;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    code = 1;
    console.error(`${servers[i].name}: FAILED to stop: ${asFailure(servers[i], result.reason).message}`);
  });
  return code;
}

async function stop(s: Settings, server: Server): Promise<void> {
  const { pidPath } = home(s, server);
  const pid = runningPid(s, server);
  if (pid === undefined) {
    removePid(pidPath);
    say(server, 'not running');
    return;
  }
  await stopTree(pid, server.stopSignal, STOP_GRACE_MS);
  removePid(pidPath);
  say(server, `stopped (pid ${pid})`);
}

// ---------------------------------------------------------------- status

async function status(s: Settings, servers: readonly Server[]): Promise<number> {
  const lines = await Promise.all(servers.map((server) => statusLine(s, server)));
  for (const [i, line] of lines.entries()) say(servers[i], line.text);
  return lines.every((line) => line.ok) ? 0 : 3;
}

async function statusLine(s: Settings, server: Server): Promise<{ ok: boolean; text: string }> {
  const pid = runningPid(s, server);
  if (pid !== undefined) {
    const ready = await server.ready(s);
    return {
      ok: ready,
      text: `${ready ? 'running' : 'running, not answering'}  pid ${pid}  ${server.address(s)}`,
    };
  }
  const taken = [];
  for (const port of server.ports(s)) if (await portInUse(port)) taken.push(port);
  const note = taken.length ? `  (port ${taken.join(', ')} held by another process)` : '';
  return { ok: false, text: `stopped  ${server.address(s)}${note}` };
}

// ---------------------------------------------------------------- logs

function logs(s: Settings, servers: readonly Server[], only?: string): Promise<number> {
  if (only === undefined) {
    for (const server of servers) say(server, home(s, server).logPath);
    return Promise.resolve(0);
  }
  const { logPath } = home(s, servers[0]);
  const lines = tail(logPath, 200);
  if (lines.length === 0) console.error(`${only}: no log yet at ${logPath}`);
  for (const line of lines) console.log(line);
  return Promise.resolve(0);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof ConfigError ? `infra: ${error.message}` : error);
    process.exitCode = 2;
  },
);
