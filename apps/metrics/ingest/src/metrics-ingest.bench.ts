import type { ChildProcess } from 'node:child_process';
import type { Producer } from 'kafkajs';
import { defineBenchmark, percentile } from '@qls/bench';
import { encodeMetricPoint } from '@qls/metrics-contracts';
import { TestResources, startReadyApp, stopApps, uniqueName, userTokens } from '@qls/testing';

const SERVICES = 50;
const POINTS_PER_REQUEST = 500;
const CLIENTS = 16;
const PHASE_MS = 5_000;
const PARTITIONS = 12;

interface Ctx {
  readonly resources: TestResources;
  readonly topic: string;
  readonly url: string;
  /** Per service: its token and a request body of POINTS_PER_REQUEST of its points. */
  readonly requests: { readonly token: string; readonly body: string }[];
  readonly producer: Producer;
  readonly processes: ChildProcess[];
}

const now = () => performance.now();

function pointsOf(
  service: number,
): { serviceId: string; name: string; value: number; timestamp: number; labels: Record<string, string> }[] {
  const base = Date.now();
  return Array.from({ length: POINTS_PER_REQUEST }, (_, i) => ({
    serviceId: `service-${service}`,
    name: ['http_requests_total', 'http_request_duration_ms', 'cpu_usage_ratio', 'queue_depth'][i % 4] as string,
    value: Math.round(Math.random() * 10_000) / 100,
    timestamp: base + Math.floor(i / 20) * 1_000,
    labels: { host: `host-${i % 20}`, region: ['eu-west-1', 'us-east-1'][service % 2] as string },
  }));
}

/** Mean records per produce request since the last call, from the app's own histogram. */
async function producedPerBatch(url: string, last: { sum: number; count: number }): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (suffix: string) =>
    Number(new RegExp(`metrics_ingest_produce_batch_records_${suffix}\\{[^}]*\\} ([0-9.e+]+)`).exec(text)?.[1] ?? 0);
  const [sum, count] = [read('sum'), read('count')];
  const mean = (sum - last.sum) / Math.max(1, count - last.count);
  Object.assign(last, { sum, count });
  return mean;
}

const batchCounter = { sum: 0, count: 0 };

/**
 * Points/s into `metrics-raw` through the real ingest (the built app as its
 * own process: HTTP, JWT, validation, the shared produce batcher, idempotent
 * producer with acks=all, gzip) on this 2-core machine with the broker on it,
 * against one awaited kafkajs `producer.send` per point (the same idempotent
 * producer settings, acks=all) — the naive ingest. Both to a fresh
 * 12-partition topic, 50 services, measured in the same run.
 */
export default defineBenchmark<Ctx>({
  name: 'metrics-ingest',
  description: `POST /metrics (${CLIENTS} clients, ${POINTS_PER_REQUEST} points/request, ${SERVICES} services) vs one awaited producer.send per point`,
  rounds: 3,
  headline: { metric: 'points/s', higherIsBetter: true },
  async setup() {
    const resources = new TestResources();
    const topic = await resources.topic('bench-metrics-raw', PARTITIONS);
    const services = await userTokens('metrics-ingest', 'bench');
    const { url, process: child } = await startReadyApp('metrics-ingest', {
      // The benchmark measures the ingest, not its budget per service.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      ...services.env,
      METRICS_RAW_TOPIC: topic,
      ALERTING_GROUP_ID: uniqueName('bench-no-alerter'),
    });
    const requests = await Promise.all(
      Array.from({ length: SERVICES }, async (_, service) => ({
        token: await services.token(`service-${service}`, { expiresAt: '1h' }),
        body: JSON.stringify({ points: pointsOf(service) }),
      })),
    );
    const producer = resources.kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
    await producer.connect();
    // Warm-up (JIT, connections, the app's producer) so that round 1 is not a cold start.
    await Promise.all(
      requests.map(async ({ token, body }) => {
        const response = await fetch(`${url}/metrics`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        if (response.status !== 202) throw new Error(`warm-up request answered ${response.status}: ${await response.text()}`);
      }),
    );
    for (let i = 0; i < 50; i++) await producer.send({ topic, acks: -1, messages: [{ key: `service-${i}`, value: '{}' }] });
    return { resources, topic, url, requests, producer, processes: [child] };
  },
  async teardown(ctx) {
    await ctx.producer.disconnect();
    await stopApps(ctx.processes);
    await ctx.resources.cleanup();
  },
  baseline: {
    name: 'one awaited producer.send per point',
    async run(ctx) {
      const values = ctx.requests.map((_, service) => pointsOf(service).map((p) => ({ key: p.serviceId, value: encodeMetricPoint(p) })));
      let sent = 0;
      const started = now();
      while (now() - started < PHASE_MS) {
        const message = values[sent % SERVICES]?.[Math.floor(sent / SERVICES) % POINTS_PER_REQUEST];
        await ctx.producer.send({ topic: ctx.topic, acks: -1, messages: [message ?? { value: '' }] });
        sent++;
      }
      return { 'points/s': sent / ((now() - started) / 1000) };
    },
  },
  candidates: [
    {
      name: `POST /metrics (${POINTS_PER_REQUEST} points/request, shared produce batches)`,
      async run(ctx) {
        await producedPerBatch(ctx.url, batchCounter);
        let accepted = 0;
        let failed = 0;
        let next = 0;
        const latencies: number[] = [];
        const started = now();
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            while (now() - started < PHASE_MS) {
              const request = ctx.requests[next++ % SERVICES] as Ctx['requests'][number];
              const sentAt = now();
              const response = await fetch(`${ctx.url}/metrics`, {
                method: 'POST',
                headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/json' },
                body: request.body,
              }).catch(() => undefined);
              if (response?.status === 202) {
                accepted += ((await response.json()) as { accepted: number }).accepted;
                latencies.push(now() - sentAt);
              } else {
                failed++;
                await response?.body?.cancel();
              }
            }
          }),
        );
        const seconds = (now() - started) / 1000;
        return {
          'points/s': accepted / seconds,
          'requests/s': latencies.length / seconds,
          'p50 ms': percentile(latencies, 50),
          'p99 ms': percentile(latencies, 99),
          'records per produce': await producedPerBatch(ctx.url, batchCounter),
          'failed requests': failed,
        };
      },
    },
  ],
});
