/**
 * `./dev up` brings up the whole product: in a scratch data dir, on ports of its own, servers,
 * Jaeger and Prometheus, provisioning, the build and every app under the supervisor. Through the
 * public APIs only: a notification is sent (one trace in Jaeger from the API to the provider), a
 * metric spike fires and resolves an alert that pages on-call, a post reaches a follower's feed;
 * Prometheus scrapes every app and loads the rules; a killed app is restarted; `down` leaves no
 * process behind. The first run on a machine builds Prometheus and Jaeger (minutes; CI starts that
 * build early, tools/ci.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, globSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { parseReplicas, readDotEnv } from './app-plan';
import { createPost, follow, getFeed, getNotification, postMetrics, registerUser, type MetricPoint } from './demo-client';

const ROOT = resolve(__dirname, '../..');
const NODE = process.execPath;
const PORTS = {
  kafka: 29192,
  kafkaController: 29193,
  sqs: 29424,
  postgres: 25532,
  redis: 26479,
  otlp: 24318,
  jaegerQuery: 26686,
  jaegerGrpc: 26685,
  jaegerHealth: 23133,
  prometheus: 29190,
  appOffset: 20_000,
};
const api = (port: number) => `http://127.0.0.1:${port + PORTS.appOffset}`;
const NOTIFICATION_API = api(3001);
const METRICS_INGEST = api(3003);
const FEED_API = api(3007);
const JAEGER = `http://127.0.0.1:${PORTS.jaegerQuery}`;
const PROMETHEUS = `http://127.0.0.1:${PORTS.prometheus}`;

const dataDir = mkdtempSync(join(tmpdir(), 'qls-product-'));
chmodSync(dataDir, 0o755);
const local = readDotEnv(join(ROOT, 'infra/env/local.env'));
/** infra/env/local.env with every server moved to the ports above: the app roles' URLs too. */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...Object.fromEntries(Object.entries(local).map(([key, value]) => [key, value.replace(':5432/', `:${PORTS.postgres}/`)])),
  QLS_DATA_DIR: dataDir,
  KAFKA_BROKERS: `127.0.0.1:${PORTS.kafka}`,
  KAFKA_CONTROLLER_PORT: String(PORTS.kafkaController),
  SQS_ENDPOINT: `http://127.0.0.1:${PORTS.sqs}`,
  REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
  JAEGER_OTLP_PORT: String(PORTS.otlp),
  JAEGER_QUERY_PORT: String(PORTS.jaegerQuery),
  JAEGER_GRPC_PORT: String(PORTS.jaegerGrpc),
  JAEGER_HEALTH_PORT: String(PORTS.jaegerHealth),
  PROMETHEUS_PORT: String(PORTS.prometheus),
  QLS_APP_PORT_OFFSET: String(PORTS.appOffset),
};

function product(...args: string[]): { status: number; output: string } {
  try {
    const output = execFileSync(NODE, ['infra/local/product.ts', ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 45 * 60_000,
    });
    return { status: 0, output };
  } catch (error) {
    const failed = error as { status: number | null; stdout?: string; stderr?: string };
    return { status: failed.status ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const token = (audience: string, subject: string) =>
  execFileSync(NODE, ['infra/local/token.ts', audience, subject], { cwd: ROOT, env, encoding: 'utf8' }).trim();

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

const has = (system: string) => existsSync(join(ROOT, 'apps', system));

interface SupervisedProcess {
  name: string;
  app: string;
  pid: number | undefined;
  restarts: number;
  managementPort: number;
}

function supervised(): Promise<SupervisedProcess[]> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: join(dataDir, 'apps', 'supervisor.sock'), path: '/status' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => done(JSON.parse(text) as SupervisedProcess[]));
    });
    req.once('error', fail);
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const serverPids = () =>
  ['kafka', 'elasticmq', 'postgres', 'redis', 'jaeger', 'prometheus'].map((name) =>
    Number(readFileSync(join(dataDir, name, 'server.pid'), 'utf8')),
  );

let up: { status: number; output: string };
let pool: Pool;

beforeAll(() => {
  up = product('up');
  pool = new Pool({ connectionString: env['DATABASE_URL'], max: 2 });
}, 50 * 60_000);

afterAll(async () => {
  await pool.end();
  product('down');
  rmSync(dataDir, { recursive: true, force: true });
}, 5 * 60_000);

describe('./dev up: the whole product on this machine', () => {
  it('starts every server and app, waits until each one is ready, and says where they are', async () => {
    expect([up.status, up.output.slice(-3_000)]).toEqual([0, expect.stringContaining('The product runs on this machine')]);
    const processes = await supervised();
    // Competing consumers: the replicas QLS_REPLICAS asks for (infra/env/local.env), each a process of its own.
    const replicas = Object.entries(parseReplicas(local['QLS_REPLICAS']));
    expect(replicas.length).toBeGreaterThan(0);
    const replicaNames = processes.filter((p) => replicas.some(([app]) => app === p.app)).map((p) => p.name);
    expect(replicaNames.sort()).toEqual(
      replicas.flatMap(([app, count]) => Array.from({ length: count }, (_, i) => `${app}-${i + 1}`)).sort(),
    );
    expect(processes.every((p) => p.pid !== undefined && alive(p.pid))).toBe(true);
    const status = product('status');
    expect(status.status).toBe(0);
    for (const p of processes) expect(status.output).toMatch(new RegExp(`${p.name}\\s+running\\s+${p.pid}\\s+\\d+\\s+\\d+\\s+yes\\s+0`));
  });

  // A fork may have dropped a system (tools/drop-system.ts): each journey is checked where its apps are.
  if (has('notifications'))
    it('sends a notification, and Jaeger holds its one trace: API -> outbox relay -> SQS -> worker -> provider', async () => {
      const traceId = randomBytes(16).toString('hex');
      const user = `it-${randomUUID()}`;
      const userToken = token('notification-api', user);
      // The caller's trace (a traceparent header) is the one the notification continues.
      const response = await fetch(`${NOTIFICATION_API}/notifications`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${userToken}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        },
        body: JSON.stringify({ userId: user, channel: 'push', template: 'order-shipped', data: { orderId: '42' } }),
      });
      expect(response.status).toBe(202);
      const accepted = (await response.json()) as { id: string };
      await waitFor(
        async () => (await getNotification(NOTIFICATION_API, userToken, accepted.id)).status === 'sent',
        'the notification sent',
      );
      const spans = await waitFor(async () => {
        const { data } = await json<{
          data: { spans: { operationName: string; processID: string }[]; processes: Record<string, { serviceName: string }> }[];
        }>(`${JAEGER}/api/traces/${traceId}`);
        const found = (data[0]?.spans ?? []).map((span) => `${data[0]?.processes[span.processID]?.serviceName}: ${span.operationName}`);
        return found.includes('notification-worker: send push') && found.some((span) => span.startsWith('outbox-relay: create')) && found;
      }, `trace ${traceId} in Jaeger with the relay and the provider call`);
      expect(spans).toEqual(
        expect.arrayContaining([
          'notification-api: POST /notifications',
          'outbox-relay: create notifications',
          'notification-worker: process notifications',
        ]),
      );
    }, 120_000);

  if (has('metrics') && has('notifications'))
    it('fires and resolves an alert on a metric spike, and pages on-call through notification-api', async () => {
      const service = `it-svc-${randomBytes(4).toString('hex')}`;
      // Five minutes of event time at once: normal, 90 s above the rule's 500 ms p99 (it fires after 60 s), normal again.
      const start = Date.now() - 300_000;
      const points: MetricPoint[] = Array.from({ length: 290 }, (_, second) => ({
        serviceId: service,
        name: 'http_request_duration_ms',
        value: second >= 60 && second < 150 ? 900 : 100,
        timestamp: start + second * 1_000,
        labels: { route: '/pay' },
      }));
      await postMetrics(METRICS_INGEST, token('metrics-ingest', service), points);
      const pages = await waitFor(
        async () => {
          const { rows } = await pool.query<{ template: string; status: string }>(
            "SELECT template, status FROM notifications WHERE user_id = 'on-call' AND data->>'serviceId' = $1 ORDER BY created_at",
            [service],
          );
          return rows.length >= 2 && rows.every((row) => row.status === 'sent') && rows.map((row) => row.template);
        },
        'the alert paging on-call, firing then resolved',
        120_000,
      );
      expect(pages).toEqual(['alert-firing', 'alert-resolved']);
    }, 180_000);

  if (has('feeds'))
    it("delivers a post into a follower's feed", async () => {
      const [author, reader] = [`it-author-${randomUUID()}`, `it-reader-${randomUUID()}`];
      const [authorToken, readerToken] = [token('feed-api', author), token('feed-api', reader)];
      await registerUser(FEED_API, authorToken, `a_${randomBytes(6).toString('hex')}`);
      await registerUser(FEED_API, readerToken, `r_${randomBytes(6).toString('hex')}`);
      await follow(FEED_API, readerToken, reader, author);
      const post = await createPost(FEED_API, authorToken, 'hello from the product test');
      const delivered = await waitFor(
        async () => (await getFeed(FEED_API, readerToken)).items.find((item) => item.id === post.id),
        'the post in the feed',
      );
      expect(delivered).toMatchObject({ id: post.id, authorId: author });
    }, 120_000);

  it('has Prometheus scrape every app and load the alert rules, which promtool checks', async () => {
    const processes = await supervised();
    const targets = await waitFor(
      async () => {
        const { data } = await json<{ data: { activeTargets: { labels: Record<string, string>; health: string }[] } }>(
          `${PROMETHEUS}/api/v1/targets`,
        );
        const up = data.activeTargets.filter((target) => target.health === 'up').map((target) => target.labels['process']);
        return up.length === processes.length && up;
      },
      'every target up',
      90_000,
    );
    expect([...targets].sort()).toEqual(processes.map((p) => p.name).sort());

    const { data } = await json<{ data: { groups: { file: string; rules: { name: string }[] }[] } }>(`${PROMETHEUS}/api/v1/rules`);
    const rules = data.groups.flatMap((group) => group.rules.map((rule) => rule.name));
    // The chapter's health rules (Part 7B: queue depth and age, DLQ > 0, lag against retention, hot
    // partition, checkpoint failures): every alert of every rule file compose mounts.
    const ruleFiles = globSync(['infra/alerts/*.rules.yml', 'apps/*/*/alert-rules.yml'], { cwd: ROOT });
    const written = ruleFiles.flatMap((file) =>
      [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]),
    );
    expect(written.length).toBeGreaterThan(5);
    expect([...rules].sort()).toEqual([...written].sort());
    const files = [...new Set(data.groups.map((group) => group.file))];
    const [promtool] = globSync(
      join(env['XDG_CACHE_HOME'] || join(env['HOME'] ?? '', '.cache'), 'queues-logs-streams/go-tools/prometheus-*/promtool'),
    );
    expect(execFileSync(promtool ?? 'promtool', ['check', 'rules', ...files], { encoding: 'utf8' })).toContain('SUCCESS');
    // The rules' own unit tests (promtool test files beside them) pass on this Prometheus.
    const ruleTests = globSync(['infra/alerts/*.test.yml', 'apps/*/*/alert-rules.test.yml'], { cwd: ROOT });
    expect(ruleTests.length).toBeGreaterThanOrEqual(2);
    for (const test of ruleTests) {
      expect(execFileSync(promtool ?? 'promtool', ['test', 'rules', test], { cwd: ROOT, encoding: 'utf8' })).toContain('SUCCESS');
    }
  }, 120_000);

  it('restarts an app that crashed, and ./dev status shows the restart', async () => {
    const before = (await supervised()).at(-1);
    const name = before?.name ?? '';
    process.kill(before?.pid ?? 0, 'SIGKILL');
    const after = await waitFor(async () => {
      const found = (await supervised()).find((p) => p.name === name);
      return (
        found?.restarts === 1 &&
        found.pid !== before?.pid &&
        (await fetch(`http://127.0.0.1:${found.managementPort}/health/ready`)).ok &&
        found
      );
    }, `${name} restarted and ready`);
    expect(after.pid).not.toBe(before?.pid);
    expect(product('status').output).toMatch(
      new RegExp(`${name}\\s+running\\s+${after.pid}\\s+\\d+\\s+\\d+\\s+yes\\s+1\\s+killed by SIGKILL`),
    );
  }, 90_000);

  it(
    'stops everything with down, apps first: no process is left',
    async () => {
      const pids = [
        ...(await supervised()).map((p) => p.pid ?? 0),
        Number(readFileSync(join(dataDir, 'apps', 'supervisor.pid'), 'utf8')),
        ...serverPids(),
      ];
      expect(pids.every(alive)).toBe(true);
      const down = product('down');
      expect([down.status, down.output]).toEqual([0, expect.stringMatching(/apps\s+stopped[\s\S]*kafka\s+stopped/)]);
      expect(pids.filter(alive)).toEqual([]);
    },
    5 * 60_000,
  );
});
