/**
 * The app supervisor of `./dev up`: one detached process per data dir that runs every process
 * of the plan (app-plan.ts) as its child, restarts one that exits with a growing backoff (compose's
 * `restart: unless-stopped`, Kubernetes's CrashLoopBackOff), stops them with SIGTERM and their own
 * grace period, and answers product.ts on a unix socket:
 *
 *   GET /status                      every process: pid, state, ports, restarts, last exit
 *   POST /start|stop|restart/<name>  one process, or every replica of an app
 *   POST /shutdown                   stop every process (in parallel, each drains), then exit
 *
 *   node infra/local/supervisor.ts <data dir>/apps      (product.ts starts it)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type ProcessPlan } from './app-plan.ts';
import { rotateLog } from './procs.ts';

/** Backoff after an exit: 1 s, doubling per exit in a row, at most 30 s; a process that ran this long starts over at 1 s. */
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
const HEALTHY_RUN_MS = 60_000;
const LOG_MAX_BYTES = 20 * 1024 * 1024;

export type ProcessState = 'running' | 'backoff' | 'stopping' | 'stopped';

/** What GET /status answers for one process. */
export interface ProcessStatus {
  readonly name: string;
  readonly app: string;
  readonly state: ProcessState;
  readonly pid: number | undefined;
  readonly httpPort: number;
  readonly managementPort: number;
  readonly published: boolean;
  readonly restarts: number;
  readonly startedAt: string | undefined;
  readonly lastExit: string | undefined;
  readonly logPath: string;
}

export interface SupervisorFiles {
  readonly dir: string;
  readonly plan: string;
  readonly socket: string;
  readonly pid: string;
  readonly log: string;
  readonly processLog: (name: string) => string;
}

/** The supervisor's files under `<data dir>/apps`. */
export function supervisorFiles(dir: string): SupervisorFiles {
  return {
    dir,
    plan: join(dir, 'plan.json'),
    socket: join(dir, 'supervisor.sock'),
    pid: join(dir, 'supervisor.pid'),
    log: join(dir, 'supervisor.log'),
    processLog: (name) => join(dir, `${name}.log`),
  };
}

export interface Plan {
  readonly repoRoot: string;
  readonly processes: readonly ProcessPlan[];
}

class Supervised {
  child: ChildProcess | undefined;
  state: ProcessState = 'stopped';
  restarts = 0;
  exitsInARow = 0;
  startedAt: number | undefined;
  lastExit: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();

  readonly plan: ProcessPlan;
  /** The working directory (the repository: the image's /app) and the log file. */
  private readonly files: { readonly cwd: string; readonly log: string };

  constructor(plan: ProcessPlan, files: { readonly cwd: string; readonly log: string }) {
    this.plan = plan;
    this.files = files;
  }

  start(): void {
    clearTimeout(this.timer);
    if (this.child) return;
    rotateLog(this.files.log, LOG_MAX_BYTES);
    appendFileSync(this.files.log, `==== ${new Date().toISOString()} supervisor: starting ${this.plan.name} ====\n`);
    const log = openSync(this.files.log, 'a');
    try {
      // The app's environment is its plan's alone (as in a container), plus what Node needs to run.
      const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', NODE_ENV: 'production', ...this.plan.env };
      const child = spawn(process.execPath, [this.plan.entry], { cwd: this.files.cwd, env, stdio: ['ignore', log, log] });
      this.child = child;
      this.state = 'running';
      this.startedAt = Date.now();
      this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(this.onExit(child, code, signal))));
      child.once('error', (error) => appendFileSync(this.files.log, `==== supervisor: cannot start: ${error.message} ====\n`));
    } finally {
      closeSync(log);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const ran = Date.now() - (this.startedAt ?? Date.now());
    this.lastExit = `${signal ? `killed by ${signal}` : `exit code ${code}`} at ${new Date().toISOString()} after ${Math.round(ran / 1000)} s`;
    if (this.state === 'stopping') {
      this.state = 'stopped';
      appendFileSync(this.files.log, `==== supervisor: stopped (${this.lastExit}) ====\n`);
      return;
    }
    this.exitsInARow = ran >= HEALTHY_RUN_MS ? 1 : this.exitsInARow + 1;
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (this.exitsInARow - 1), BACKOFF_MAX_MS);
    this.state = 'backoff';
    this.restarts += 1;
    appendFileSync(this.files.log, `==== supervisor: ${this.lastExit}; restart ${this.restarts} in ${delay / 1000} s ====\n`);
    this.timer = setTimeout(() => this.start(), delay);
  }

  /** SIGTERM, then SIGKILL once its grace period (compose's stop_grace_period) has passed. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    const child = this.child;
    if (!child) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), this.plan.stopGraceMs);
    await this.exited;
    clearTimeout(killer);
  }

  status(): ProcessStatus {
    return {
      name: this.plan.name,
      app: this.plan.app,
      state: this.state,
      pid: this.child?.pid,
      httpPort: this.plan.httpPort,
      managementPort: this.plan.managementPort,
      published: this.plan.published,
      restarts: this.restarts,
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt).toISOString(),
      lastExit: this.lastExit,
      logPath: this.files.log,
    };
  }
}

function main(dir: string): void {
  const files = supervisorFiles(dir);
  const plan = JSON.parse(readFileSync(files.plan, 'utf8')) as Plan;
  const all = plan.processes.map((p) => new Supervised(p, { cwd: plan.repoRoot, log: files.processLog(p.name) }));
  const say = (message: string) => console.log(`${new Date().toISOString()} ${message}`);
  const matching = (name: string) => all.filter((p) => p.plan.name === name || p.plan.app === name);

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      say(`stopping ${all.length} processes`);
      await Promise.all(all.map((p) => p.stop()));
      server.close();
      rmSync(files.socket, { force: true });
      rmSync(files.pid, { force: true });
      say('stopped');
    })();
    return shuttingDown;
  };

  const actions: Record<string, (targets: Supervised[]) => Promise<void>> = {
    start: async (targets) => targets.forEach((p) => p.start()),
    stop: async (targets) => void (await Promise.all(targets.map((p) => p.stop()))),
    restart: async (targets) => {
      await Promise.all(targets.map((p) => p.stop()));
      targets.forEach((p) => p.start());
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const answer = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const [, verb, name] = (req.url ?? '/').split('/');
    if (req.method === 'GET' && verb === 'status')
      return answer(
        200,
        all.map((p) => p.status()),
      );
    if (req.method === 'POST' && verb === 'shutdown') return void shutdown().then(() => answer(200, { stopped: all.length }));
    const action = verb === undefined ? undefined : actions[verb];
    if (req.method !== 'POST' || !action || !name) return answer(404, { error: `no such request: ${req.method} ${req.url}` });
    const targets = matching(decodeURIComponent(name));
    if (targets.length === 0) return answer(404, { error: `no app or process named ${name}` });
    say(`${verb} ${targets.map((p) => p.plan.name).join(', ')}`);
    action(targets).then(
      () =>
        answer(
          200,
          targets.map((p) => p.status()),
        ),
      (error: unknown) => answer(500, { error: String(error) }),
    );
  });

  process.on('SIGTERM', () => void shutdown().then(() => process.exit(0)));
  process.on('SIGINT', () => void shutdown().then(() => process.exit(0)));
  rmSync(files.socket, { force: true });
  server.listen(files.socket, () => {
    writeFileSync(files.pid, `${process.pid}\n`);
    say(`supervising ${all.map((p) => p.plan.name).join(', ')}`);
    all.forEach((p) => p.start());
  });
}

if (import.meta.main) main(process.argv[2] ?? '');
