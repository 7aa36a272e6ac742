import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { enqueue, inTransaction } from '@qls/outbox';
import { TestResources, freePort, operatorTokens, uniqueName, waitFor } from '@qls/testing';

/**
 * Runs the built app (`node dist/apps/outbox-relay/main.js`) as a child process
 * against the local Postgres (`DATABASE_URL`, from infra/env/local.env unless
 * set). `npx nx int-test outbox-relay` builds it first.
 */
const MAIN = join(__dirname, '../../../../dist/apps/outbox-relay/main.js');
const DATABASE_URL = process.env['DATABASE_URL'] ?? '';

interface App {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcessWithoutNullStreams[] = [];

function run(env: Record<string, string>): App {
  // Only what the test gives: nothing leaks in from the developer's shell (e.g. an OTLP endpoint).
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, url: `http://127.0.0.1:${env['HTTP_PORT']}`, stdout: () => out, stderr: () => err, exited };
}

async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The operator key the apps trust: /outbox/* need its tokens. */
const ops = operatorTokens();

async function validEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const servers = Object.fromEntries(
    ['KAFKA_BROKERS', 'SQS_ENDPOINT', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].map((name) => [
      name,
      process.env[name] ?? '',
    ]),
  );
  const { env: operatorAuth } = await ops;
  return { ...servers, ...operatorAuth, DATABASE_URL, HTTP_PORT: String(await freePort()), SHUTDOWN_TIMEOUT_MS: '5000', ...extra };
}

/** Resolves once `/health/live` answers 200. */
async function started(app: App): Promise<void> {
  await waitFor(
    async () => {
      if (app.child.exitCode !== null) throw new Error(`app exited with ${app.child.exitCode}: ${app.stderr()}`);
      return (await fetch(`${app.url}/health/live`)).status === 200;
    },
    { description: `${app.url}/health/live`, timeoutMs: 15_000 },
  );
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function traceparent(): { header: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { header: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, traceId };
}

describe('outbox-relay process', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx nx build outbox-relay\` first`);
    if (!DATABASE_URL) throw new Error('DATABASE_URL is not set (infra/env/local.env sets it for `./dev up`)');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
    }
  });

  it('refuses to start without DATABASE_URL and names it', async () => {
    const { DATABASE_URL: _unset, ...env } = await validEnv();
    const app = run(env);

    const { code } = await within('exit', app.exited, 15_000);
    expect(code).not.toBe(0);
    expect(app.stderr()).toContain('DATABASE_URL is required');
  });

  it('listens on loopback only by default, and on every interface with HOST=0.0.0.0 (as the image sets)', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && !address.internal && address.family === 'IPv4')?.address;
    if (external === undefined) throw new Error('this test needs a non-loopback IPv4 address on this machine');
    const local = run(await validEnv());
    await started(local);
    const open = run(await validEnv({ HOST: '0.0.0.0' }));
    await started(open);

    const answer = (app: App) =>
      fetch(`http://${external}:${new URL(app.url).port}/health/live`).then(
        (response) => response.status,
        (error: Error) => (error.cause as { code?: string } | undefined)?.code ?? error.message,
      );
    expect({ local: await answer(local), open: await answer(open) }).toEqual({ local: 'ECONNREFUSED', open: 200 });
  });

  it('serves /metrics and /health/* only on MANAGEMENT_PORT when it is set, and the API only on HTTP_PORT', async () => {
    const managementPort = await freePort();
    const app = run(await validEnv({ MANAGEMENT_PORT: String(managementPort) }));
    const management = `http://127.0.0.1:${managementPort}`;
    await waitFor(async () => (await fetch(`${management}/health/live`).catch(() => undefined))?.status === 200, {
      description: 'the management port',
      timeoutMs: 15_000,
    });
    const operator = await (await ops).headers('ops:read');
    const status = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers })).status;

    expect({
      api: {
        live: await status(`${app.url}/health/live`),
        ready: await status(`${app.url}/health/ready`),
        metrics: await status(`${app.url}/metrics`),
        stats: await status(`${app.url}/outbox/stats`, operator),
      },
      management: {
        live: await status(`${management}/health/live`),
        ready: await status(`${management}/health/ready`),
        metrics: await status(`${management}/metrics`),
        stats: await status(`${management}/outbox/stats`, operator),
      },
    }).toEqual({
      api: { live: 404, ready: 404, metrics: 404, stats: 200 },
      management: { live: 200, ready: 200, metrics: 200, stats: 404 },
    });

    app.child.kill('SIGTERM');
    expect(await within('exit on SIGTERM', app.exited, 10_000)).toEqual({ code: 0, signal: null });
  });

  it('refuses to start with a malformed HTTP_PORT and names it', async () => {
    const app = run(await validEnv({ HTTP_PORT: 'abc' }));

    const { code } = await within('exit', app.exited, 15_000);
    expect(code).not.toBe(0);
    expect(app.stderr()).toMatch(/HTTP_PORT: .*"abc"/);
  });

  it('serves liveness, readiness against Postgres and process metrics, and logs JSON with trace ids', async () => {
    const app = run(await validEnv());
    await started(app);

    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: { status: 'up' } } });

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total\{service="outbox-relay"\} /m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds\{service="outbox-relay"\} /m);

    const { header, traceId } = traceparent();
    expect((await fetch(`${app.url}/no-such-route`, { headers: { traceparent: header } })).status).toBe(404);
    const requestLine = await waitFor(
      () => jsonLines(app.stdout()).find((line) => (line['req'] as { url?: string } | undefined)?.url === '/no-such-route'),
      { description: 'the request log line' },
    );

    const lines = jsonLines(app.stdout()); // throws on any line that is not JSON
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatchObject({ service: 'outbox-relay', level: expect.any(String) });
    // The caller's trace continues in the app, and its log line names it.
    expect(requestLine).toMatchObject({ msg: 'request completed', trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(app.stderr()).toBe('');
  });

  describe('with an OTLP endpoint', () => {
    let collector: Server;
    let collectorUrl: string;
    const received: { path: string; body: string }[] = [];

    beforeAll(async () => {
      collector = createServer((request, response) => {
        let body = '';
        request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        request.on('end', () => {
          received.push({ path: request.url ?? '', body });
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
      collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => collector.close(resolve)));

    it('exports the spans of a request, with the service name, to /v1/traces', async () => {
      const app = run(await validEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_BSP_SCHEDULE_DELAY: '100' }));
      await started(app);

      const { header, traceId } = traceparent();
      expect(
        (await fetch(`${app.url}/outbox/stats`, { headers: { ...(await (await ops).headers('ops:read')), traceparent: header } })).status,
      ).toBe(200);

      const exported = await waitFor(
        () =>
          received.find(
            (request) => request.path === '/v1/traces' && request.body.includes(traceId) && request.body.includes('GET /outbox/stats'),
          ),
        { description: 'an OTLP export of the request trace, its server span named after the route' },
      );
      expect(exported.body).toContain('"outbox-relay"');
      expect(exported.body).toContain('"http.route"');
      // The query the request made has its span — only if pg was loaded after the SDK started.
      expect(exported.body).toContain('@opentelemetry/instrumentation-pg');
    });
  });

  it('exits 0 promptly on SIGTERM', async () => {
    const app = run(await validEnv());
    await started(app);
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200); // the pool has a connection to close

    app.child.kill('SIGTERM');

    expect(await within('exit after SIGTERM', app.exited, 5_000)).toEqual({ code: 0, signal: null });
    expect(jsonLines(app.stdout()).map((line) => line['msg'])).toContain('shutdown complete');
  });

  it('relays a committed outbox row to Kafka and reports the backlog over HTTP, in /metrics and from the CLI', async () => {
    const resources = new TestResources();
    const pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
    try {
      const topic = await resources.topic('relay-app', 1);
      const received: string[] = [];
      const consumer = resources.kafka.consumer({ groupId: uniqueName('relay-app') });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.headers?.['aggregate-id'])) });
      resources.onCleanup(() => consumer.disconnect());

      const app = run(await validEnv({ OUTBOX_POLL_INTERVAL_MS: '200' }));
      await started(app);
      const aggregateId = uniqueName('order');
      await inTransaction(pool, (tx) =>
        enqueue(tx, [
          { aggregateType: 'order', aggregateId, eventType: 'OrderPlaced.v1', payload: { n: 1 }, destination: { kafka: topic } },
        ]),
      );
      await waitFor(() => received.includes(aggregateId), { timeoutMs: 20_000, description: 'the relayed event' });

      const stats = (await (await fetch(`${app.url}/outbox/stats`, { headers: await (await ops).headers('ops:read') })).json()) as {
        pending: number;
        parked: number;
      };
      expect(stats).toMatchObject({ pending: expect.any(Number), parked: expect.any(Number) });
      await waitFor(
        async () =>
          /^outbox_published_total\{destination="kafka:[^"]+"[^}]*\} [1-9]/m.test(await (await fetch(`${app.url}/metrics`)).text()),
        {
          description: 'the published counter',
        },
      );
      const { stdout } = await promisify(execFile)(process.execPath, [join(MAIN, '../cli.js'), 'stats'], { env: { DATABASE_URL } });
      expect(JSON.parse(stdout)).toMatchObject({ pending: expect.any(Number), oldestPendingAgeSeconds: expect.any(Number) });
    } finally {
      await pool.end();
      await resources.cleanup();
    }
  });
});
