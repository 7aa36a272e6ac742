import type { ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { type CpuGroup, defineBenchmark, percentile, startCpuMeter } from '@qls/bench';
import { channels } from '@qls/notification-delivery';
import { migrate, readMigrations } from '@qls/provisioning';
import {
  type LocalServer,
  type MigratedSchema,
  TestResources,
  freePort,
  localServerPid,
  migratedSchema,
  operatorTokens,
  startBuiltApp,
  stopApps,
  userTokens,
  waitFor,
} from '@qls/testing';

const PROVIDER_LATENCY_MS = 50;
const USERS = 200;
const PHASE_MS = 5_000;
const WARM_UP_MS = 10_000;
const CLIENTS = 64;
const OPEN_LOOP_RATE = 1_000;
const MAX_IN_FLIGHT = 256;

interface Ctx extends MigratedSchema {
  readonly url: string;
  /** `POST /notifications` */
  readonly endpoint: URL;
  readonly tokens: string[];
  /** The apps, by name, each its own process. */
  readonly apps: Record<string, ChildProcess>;
}

const now = () => performance.timeOrigin + performance.now();
let failures = 0;
const failureKinds = new Map<string, number>();

/**
 * Keep-alive connections for the load generator. node:http rather than fetch:
 * fetch's streams cost the client several times the CPU per request, and the
 * client shares the two cores with the system it measures.
 */
const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

function request(url: URL, token: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs one notification for user `i`; returns its id when accepted (202). */
async function post(ctx: Ctx, i: number): Promise<string | undefined> {
  const user = i % USERS;
  const body = JSON.stringify({ userId: `user-${user}`, channel: channels[i % channels.length], template: 'welcome', data: { i } });
  const response = await request(ctx.endpoint, ctx.tokens[user] ?? '', body).catch((error: unknown) => {
    const code = (error as { code?: string }).code ?? 'network error';
    failureKinds.set(code, (failureKinds.get(code) ?? 0) + 1);
    return undefined;
  });
  if (response?.status !== 202) {
    failures++;
    const key = response ? String(response.status) : '';
    if (key) failureKinds.set(key, (failureKinds.get(key) ?? 0) + 1);
    return undefined;
  }
  return (JSON.parse(response.body) as { id: string }).id;
}

/** CLIENTS clients posting one after the other for `ms`; the ids accepted and the provider_sends row before them. */
async function closedLoop(ctx: Ctx, ms: number): Promise<{ accepted: string[]; since: string }> {
  const accepted: string[] = [];
  const since = await lastSendId(ctx);
  const started = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (now() - started < ms) {
        const id = await post(ctx, next++);
        if (id) accepted.push(id);
      }
    }),
  );
  return { accepted, since };
}

/** The newest provider_sends row now: rows of the next phase come after it. */
async function lastSendId(ctx: Ctx): Promise<string> {
  const { rows } = await ctx.pool.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM provider_sends');
  return rows[0]?.id ?? '0';
}

/**
 * When each of `ids` reached the provider. Waits with a count over the rows
 * after `since` (a primary-key range, polled every 200 ms) rather than looking
 * the ids up on every poll — that lookup, thousands of ids 20 times a second,
 * took a good share of Postgres's CPU away from the pipeline it measures.
 */
async function sentAt(ctx: Ctx, ids: readonly string[], since: string): Promise<Map<string, number>> {
  for (;;) {
    const { rows } = await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_sends WHERE id > $1 AND NOT duplicate', [
      since,
    ]);
    if ((rows[0]?.n ?? 0) >= ids.length) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const { rows } = await ctx.pool.query<{ id: string; at: number }>(
    `SELECT notification_id AS id, extract(epoch FROM accepted_at)::float8 * 1000 AS at FROM provider_sends
      WHERE id > $2 AND NOT duplicate AND notification_id = ANY($1::uuid[])`,
    [ids, since],
  );
  return new Map(rows.map((r) => [r.id, r.at]));
}

/** When the relay published each notification's outbox row (its SendMessageBatch had succeeded). */
async function publishedAt(ctx: Ctx, ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await ctx.pool.query<{ id: string; at: number }>(
    `SELECT aggregate_id AS id, extract(epoch FROM published_at)::float8 * 1000 AS at FROM outbox
      WHERE aggregate_type = 'notification' AND aggregate_id = ANY($1::text[]) AND published_at IS NOT NULL`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.at]));
}

/** Runs a built app as its own process, the way it is deployed. */
function startApp(ctx: { apps: Record<string, ChildProcess> }, app: string, env: Record<string, string>): void {
  ctx.apps[app] = startBuiltApp(app, env);
}

const SERVERS: readonly LocalServer[] = ['elasticmq', 'postgres', 'redis', 'kafka'];

/** Every process on the path, to see where a notification's CPU goes: the apps, the servers (Postgres with its backends) and this load generator. */
function cpuGroups(ctx: Ctx): Record<string, CpuGroup> {
  return {
    ...Object.fromEntries(Object.entries(ctx.apps).map(([name, child]) => [name, { pids: child.pid ? [child.pid] : [] }])),
    ...Object.fromEntries(SERVERS.map((server) => [server, { pids: [localServerPid(server)], withDescendants: server === 'postgres' }])),
    'load generator': { pids: [process.pid] },
  };
}

/**
 * System 1 as deployed, each app its own process on this 2-core machine (with
 * Kafka, ElasticMQ, Postgres and Redis): notification-api (JWT, validation,
 * row + outbox in one transaction) → outbox-relay → SQS → notification-worker
 * (Redis + Postgres guard, local provider with 50 ms latency). After a 10 s
 * warm-up (once, in setup), phase 1: 64
 * clients as fast as the API accepts; notifications/s counted until the last
 * reached the provider. Phase 2: an open loop at 1,000/s; API→provider latency.
 * Phase 1 also reports the CPU time each process spent per notification
 * (from /proc), and the whole machine's (`machine`): on 2 cores, N
 * notifications/s leave 2,000 / N ms of CPU for each one.
 * Uses a fresh schema and fresh queues.
 */
export default defineBenchmark<Ctx>({
  name: 'notifications-e2e',
  description: `notification-api → outbox-relay → SQS → notification-worker → provider (${PROVIDER_LATENCY_MS} ms), one process each`,
  rounds: 3,
  headline: { metric: 'e2e notifications/s', higherIsBetter: true },
  async setup() {
    // A schema of its own: every run starts from empty tables, as a fresh deployment would.
    const db = await migratedSchema(new TestResources(), { migrate, readMigrations });
    const DATABASE_URL = db.databaseUrl;
    const { url: queueUrl } = await db.resources.queue('bench-e2e', { maxReceiveCount: 10 }); // as topology.json provisions it (ADR 0005)
    const queue = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    const users = await userTokens('notifications', 'bench');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const ctx = {
      ...db,
      url,
      endpoint: new URL('/notifications', url),
      tokens: [] as string[],
      apps: {} as Record<string, ChildProcess>,
    };
    startApp(ctx, 'notification-api', {
      HTTP_PORT: String(port),
      DATABASE_URL,
      DATABASE_POOL_SIZE: '20',
      ...users.env,
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      NOTIFICATIONS_QUEUE: queue,
    });
    // The relay's operator endpoints need a trusted key to boot; the bench calls none of them.
    const { env: operatorAuth } = await operatorTokens();
    startApp(ctx, 'outbox-relay', { ...operatorAuth, HTTP_PORT: String(await freePort()), DATABASE_URL, DATABASE_POOL_SIZE: '6' });
    startApp(ctx, 'notification-worker', {
      HTTP_PORT: String(await freePort()),
      DATABASE_URL,
      DATABASE_POOL_SIZE: '30',
      NOTIFICATIONS_QUEUE: queue,
      NOTIFICATIONS_DLQ: `${queue}-dlq`,
      WORKER_CONCURRENCY: '200',
      // Parallel long polls: at 1,000/s a poll pending at all times cut p99 (measured: 1 → 1.4 s, 4 → 0.65 s, 8 → 0.36–0.63 s, 16 no better).
      WORKER_RECEIVERS: '8',
      LOCAL_PROVIDER_FAULTS: JSON.stringify(Object.fromEntries(channels.map((c) => [c, { latencyMs: PROVIDER_LATENCY_MS }]))),
    });
    await waitFor(async () => (await fetch(`${ctx.url}/health/ready`).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      description: 'notification-api ready',
    });
    ctx.tokens.push(...(await Promise.all(Array.from({ length: USERS }, (_, u) => users.token(`user-${u}`, { expiresAt: '1h' })))));
    // Warm-up: the services run warm in production; the first seconds of a fresh
    // process (JIT, connection pools, lazy loading) and of fresh tables are not
    // what this measures. After 3 s, the first round's p99 was still 0.6–1.6 s
    // (later rounds 0.3–0.45 s); after 10 s the rounds agree.
    const warmUp = await closedLoop(ctx, WARM_UP_MS);
    await sentAt(ctx, warmUp.accepted, warmUp.since);
    return ctx;
  },
  async teardown(ctx) {
    agent.destroy();
    await stopApps(Object.values(ctx.apps));
    await ctx.resources.cleanup();
  },
  baseline: {
    name: 'notification service',
    async run(ctx) {
      failures = 0;
      // Phase 1: closed loop, as fast as the API accepts.
      const started = now();
      const cpu = startCpuMeter(cpuGroups(ctx));
      const { accepted, since } = await closedLoop(ctx, PHASE_MS);
      const delivered = await sentAt(ctx, accepted, since);
      const throughput = accepted.length / ((Math.max(...delivered.values()) - started) / 1000);
      // CPU per notification, by process: what each hop costs, and (machine) what one costs in all.
      const cpuPerNotification = Object.fromEntries(
        Object.entries(cpu.stop()).map(([name, seconds]) => [`CPU ms/notification: ${name}`, (seconds * 1000) / accepted.length]),
      );

      // Phase 2: open loop at 1,000/s; latency from the request to the provider.
      const requested = new Map<string, number>();
      const answered = new Map<string, number>();
      const pending: Promise<void>[] = [];
      const phase2 = await lastSendId(ctx);
      const begin = now();
      // At most MAX_IN_FLIGHT open requests, like a client's connection pool; a
      // request waiting for a slot still counts its wait in its latency.
      let inFlight = 0;
      const slotFreed: (() => void)[] = [];
      const send = async (i: number, at: number) => {
        while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => slotFreed.push(resolve));
        inFlight++;
        const id = await post(ctx, i);
        inFlight--;
        slotFreed.shift()?.();
        if (id) {
          requested.set(id, at);
          answered.set(id, now());
        }
      };
      for (let i = 0; now() - begin < PHASE_MS; i++) {
        const due = begin + (i * 1000) / OPEN_LOOP_RATE;
        const wait = due - now(); // read once: a second now() can pass `due` (a negative timeout)
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        pending.push(send(i, now()));
      }
      await Promise.all(pending);
      const arrivals = await sentAt(ctx, [...requested.keys()], phase2);
      const latencies = [...requested].map(([id, at]) => (arrivals.get(id) ?? at) - at);
      const published = await publishedAt(ctx, [...requested.keys()]);
      // Where the time goes: the API's answer (group commit), the relay (NOTIFY, linger, claim, SendMessageBatch), the rest (SQS, worker, 50 ms provider).
      const hops = {
        api: [...requested].map(([id, at]) => (answered.get(id) ?? at) - at),
        relay: [...answered].map(([id, at]) => (published.get(id) ?? at) - at),
        worker: [...published].map(([id, at]) => (arrivals.get(id) ?? at) - at),
      };
      if (failureKinds.size > 0) console.log('failed requests by status:', Object.fromEntries(failureKinds));
      failureKinds.clear();
      return {
        'e2e notifications/s': throughput,
        'API accepted/s': accepted.length / (PHASE_MS / 1000),
        'failed requests': failures,
        'open-loop accepted/s': requested.size / (PHASE_MS / 1000),
        'p50 ms @1k/s': percentile(latencies, 50),
        'p99 ms @1k/s': percentile(latencies, 99),
        ...Object.fromEntries(
          Object.entries(hops).flatMap(([hop, ms]) => [
            [`p50 ms @1k/s: ${hop}`, percentile(ms, 50)],
            [`p99 ms @1k/s: ${hop}`, percentile(ms, 99)],
          ]),
        ),
        ...cpuPerNotification,
      };
    },
  },
  candidates: [],
});
