/**
 * Drives the real manager (node infra/local/infra.ts) against a throwaway data dir and a port set
 * of its own, so it never touches the servers of `./dev up`. The tests run in order: they share
 * one set of servers, started by the first.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVERS = ['kafka', 'elasticmq', 'postgres', 'redis'] as const;
const PORTS = {
  kafka: 29092,
  kafkaController: 29093,
  sqs: 29324,
  postgres: 25432,
  redis: 26379,
};
const ENV = {
  KAFKA_BROKERS: `127.0.0.1:${PORTS.kafka}`,
  KAFKA_CONTROLLER_PORT: String(PORTS.kafkaController),
  SQS_ENDPOINT: `http://127.0.0.1:${PORTS.sqs}`,
  DATABASE_URL: `postgres://qls_test:secret@127.0.0.1:${PORTS.postgres}/qls_test`,
  REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
};

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

describe('local server manager (infra/local/infra.ts)', () => {
  // The postgres OS user must reach the data dir, and mkdtemp creates it private.
  const dataDir = mkdtempSync(join(tmpdir(), 'qls-infra-'));
  chmodSync(dataDir, 0o755);
  const seenPids = new Set<number>();
  let blocker: NetServer | undefined;

  function manager(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
    const started = Date.now();
    const child = spawn(process.execPath, ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', join(__dirname, 'infra.ts'), ...args], {
      env: { ...process.env, ...ENV, QLS_DATA_DIR: dataDir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
  }

  function expectExit(outcome: Outcome, code: number): void {
    if (outcome.code !== code) throw new Error(`expected exit ${code}, got ${outcome.code}\n${outcome.stdout}\n${outcome.stderr}`);
    expect(outcome.code).toBe(code);
  }

  /** Each server's recorded pid and every descendant (Postgres forks a process per task). */
  function recordedProcesses(): number[] {
    const pids = SERVERS.map((name) => Number(readFileSync(join(dataDir, name, 'server.pid'), 'utf8')));
    return pids.flatMap(withDescendants);
  }

  beforeAll(async () => {
    const busy = (await Promise.all(Object.values(PORTS).map(async (port) => ((await portFree(port)) ? [] : [port])))).flat();
    if (busy.length > 0) throw new Error(`test ports ${busy.join(', ')} are in use: stop whatever holds them first`);
  });

  afterAll(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    await manager(['down']);
    for (const pid of seenPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('up starts the four servers, and a second up leaves them running', async () => {
    const first = await manager(['up']);
    expectExit(first, 0);
    for (const name of SERVERS) expect(first.stdout).toMatch(new RegExp(`^${name} +started \\(pid \\d+\\)`, 'm'));
    recordedProcesses().forEach((pid) => seenPids.add(pid));

    const second = await manager(['up']);
    expectExit(second, 0);
    for (const name of SERVERS) expect(second.stdout).toMatch(new RegExp(`^${name} +already running`, 'm'));
  }, 240_000);

  it('status reports every server running and exits 0', async () => {
    const outcome = await manager(['status']);
    expectExit(outcome, 0);
    for (const name of SERVERS) expect(outcome.stdout).toMatch(new RegExp(`^${name} +running +pid \\d+`, 'm'));
  }, 30_000);

  it('down stops every process it started and frees the ports; a second down is a no-op', async () => {
    const processes = recordedProcesses();
    processes.forEach((pid) => seenPids.add(pid));

    expectExit(await manager(['down']), 0);
    expect(processes.filter(isAlive)).toEqual([]);
    for (const port of Object.values(PORTS)) expect(await portFree(port)).toBe(true);

    expectExit(await manager(['status']), 3);
    const again = await manager(['down']);
    expectExit(again, 0);
    for (const name of SERVERS) expect(again.stdout).toMatch(new RegExp(`^${name} +not running`, 'm'));
  }, 120_000);

  it('up fails fast, naming the server, when another process holds its port', async () => {
    blocker = await listen(PORTS.redis);
    const timeoutMs = 10_000;

    const outcome = await manager(['up'], {
      QLS_INFRA_TIMEOUT_MS: String(timeoutMs),
    });

    expectExit(outcome, 1);
    expect(outcome.stderr).toMatch(new RegExp(`^redis: FAILED: port ${PORTS.redis} .*in use`, 'm'));
    expect(outcome.ms).toBeLessThan(timeoutMs);
    // Nothing else may be left running after a failed up.
    expectExit(await manager(['status']), 3);
    for (const port of [PORTS.kafka, PORTS.kafkaController, PORTS.sqs, PORTS.postgres]) expect(await portFree(port)).toBe(true);
  }, 120_000);
});

function listen(port: number): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function portFree(port: number): Promise<boolean> {
  return listen(port).then(
    (server) => new Promise((resolve) => server.close(() => resolve(true))),
    () => false,
  );
}

/** Alive and not a zombie. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function withDescendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  return tree;
}
