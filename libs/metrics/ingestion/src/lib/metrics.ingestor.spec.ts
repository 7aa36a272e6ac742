import { parseMetricPoint } from '@qls/metrics-contracts';
import type { OutboundMessage } from '@qls/messaging';
import { MetricsRegistry } from '@qls/observability';
import { AlertingBackpressure } from './alerting-lag';
import type { AlertingLag, BackpressureSettings } from './backpressure';
import { IngestThrottledError, MetricsValidationError, ServiceMismatchError } from './ingest.errors';
import { createIngestMetrics } from './ingest.metrics';
import { ingestDefaults } from './ingest.request';
import { MetricsIngestor } from './metrics.ingestor';

const settings: BackpressureSettings = { policy: 'throttle', lagThreshold: 100, sampleRate: 0.5, retryAfterSeconds: 3 };
/** The points' time: now, as the ingest accepts only points within the retention and the allowed skew. */
const AT = Date.now();
const body = (count: number, serviceId = 'checkout') => ({
  points: Array.from({ length: count }, (_, i) => ({ serviceId, name: 'requests', value: i, timestamp: AT + i, labels: {} })),
});

/**
 * The request flow without HTTP or Kafka: a sink that records what would be
 * produced, a lag source the test sets (the app's int-spec runs the same flow
 * against the real broker and a real lagging group).
 */
function setup(overrides: Partial<BackpressureSettings> = {}) {
  const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
  const metrics = createIngestMetrics(registry);
  const produced: OutboundMessage[] = [];
  let lag: AlertingLag | Error = { messages: 0 };
  const backpressure = new AlertingBackpressure({
    source: { lag: async () => (lag instanceof Error ? Promise.reject(lag) : lag) },
    settings: { ...settings, ...overrides },
    intervalMs: 60_000,
    metrics,
  });
  const ingestor = new MetricsIngestor({
    limits: { ...ingestDefaults, maxPointsPerRequest: 100 },
    sink: { send: async (messages) => void produced.push(...messages) },
    backpressure,
    metrics,
  });
  const count = async (outcome: string) => (await metrics.points.get()).values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
  const setLag = async (value: AlertingLag | Error) => {
    lag = value;
    await backpressure.refresh();
  };
  return { ingestor, produced, count, setLag, metrics, registry };
}

describe('MetricsIngestor', () => {
  it('produces every point keyed by its serviceId as a metrics-raw v1 record and counts them accepted', async () => {
    const { ingestor, produced, count } = setup();

    expect(await ingestor.ingest({ serviceId: 'checkout' }, body(3))).toEqual({ accepted: 3 });
    expect(produced.map((m) => m.key)).toEqual(['checkout', 'checkout', 'checkout']);
    expect(produced.map((m) => parseMetricPoint(m.body))).toEqual(body(3).points.map((p) => ({ schemaVersion: 1, ...p })));
    expect(await count('accepted')).toBe(3);
  });

  it('counts the points of a refused request as rejected and produces nothing', async () => {
    const { ingestor, produced, count } = setup();

    await expect(ingestor.ingest({ serviceId: 'checkout' }, { points: [{ nope: 1 }, {}] })).rejects.toBeInstanceOf(MetricsValidationError);
    await expect(ingestor.ingest({ serviceId: 'billing' }, body(4))).rejects.toBeInstanceOf(ServiceMismatchError);

    expect(produced).toEqual([]);
    expect(await count('rejected')).toBe(6);
  });

  it('throttles above the lag threshold: nothing produced, the points counted as throttled, Retry-After given', async () => {
    const { ingestor, produced, count, setLag, metrics } = setup();
    await setLag({ messages: 101 });

    const error = await ingestor.ingest({ serviceId: 'checkout' }, body(5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestThrottledError);
    expect(error).toMatchObject({ retryAfterSeconds: 3, lagMessages: 101 });
    expect(produced).toEqual([]);
    expect(await count('throttled')).toBe(5);
    expect((await metrics.backpressureActive.get()).values).toEqual([{ labels: { policy: 'throttle' }, value: 1 }]);

    await setLag({ messages: 100 });
    expect(await ingestor.ingest({ serviceId: 'checkout' }, body(5))).toEqual({ accepted: 5 });
    expect((await metrics.backpressureActive.get()).values).toEqual([{ labels: { policy: 'throttle' }, value: 0 }]);
  });

  it('samples above the threshold when so configured, saying how many points it dropped', async () => {
    const { ingestor, produced, count, setLag } = setup({ policy: 'sample' });
    await setLag({ messages: 10_000 });

    const result = await ingestor.ingest({ serviceId: 'checkout' }, body(100));
    expect(result).toEqual({ accepted: produced.length, sampledOut: 100 - produced.length, samplingRate: 0.5 });
    expect(produced.length).toBeGreaterThan(25);
    expect(produced.length).toBeLessThan(75);
    expect(await count('sampled_out')).toBe(100 - produced.length);
    expect(await count('accepted')).toBe(produced.length);
  });

  it('fails open when the lag cannot be read, and counts the failed read', async () => {
    const { ingestor, setLag, metrics } = setup();
    await setLag({ messages: 1_000 });
    await setLag(new Error('coordinator not available'));

    expect(await ingestor.ingest({ serviceId: 'checkout' }, body(2))).toEqual({ accepted: 2 });
    expect((await metrics.lagReadFailures.get()).values[0]?.value).toBe(1);
  });

  it('counts the points of a failed produce as failed and passes the error on', async () => {
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = createIngestMetrics(registry);
    const ingestor = new MetricsIngestor({
      limits: { ...ingestDefaults, maxPointsPerRequest: 100 },
      sink: { send: () => Promise.reject(new Error('broker unavailable')) },
      backpressure: { decide: () => ({ mode: 'accept' }) },
      metrics,
    });

    await expect(ingestor.ingest({ serviceId: 'checkout' }, body(3))).rejects.toThrow('broker unavailable');
    expect((await metrics.points.get()).values).toEqual([{ labels: { outcome: 'failed' }, value: 3 }]);
  });
});
