import { defineBenchmark } from '@qls/bench';
import { seriesKey } from '@qls/metrics-contracts';
import { type Point, type RuleInput, WindowedAlerter, quantileRank } from './index';

const POINTS = 200_000;
const SERVICES = 50;
const ROUTES = 20;
const PARTITIONS = 6;
const BATCH = 500;

const rules: RuleInput[] = [
  {
    kind: 'threshold',
    name: 'slow-p99',
    metric: 'http_latency_ms',
    window: { sizeMs: 60_000 },
    aggregation: 'p99',
    op: '>',
    threshold: 800,
  },
  {
    kind: 'threshold',
    name: 'slow-avg',
    metric: 'http_latency_ms',
    window: { sizeMs: 60_000, slideMs: 30_000 },
    aggregation: 'avg',
    op: '>',
    threshold: 300,
    forMs: 60_000,
  },
  { kind: 'absence', name: 'silent', metric: 'http_latency_ms', timeoutMs: 30_000 },
];

/**
 * 1,000 series (50 services × 20 routes), one point per series every 5 s of
 * event time, up to 2 s out of order, keyed to 6 partitions by service.
 */
function makePoints(): { partition: number; point: Point }[] {
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const start = 1_700_000_000_000;
  return Array.from({ length: POINTS }, (_, i) => {
    const service = i % SERVICES;
    return {
      partition: service % PARTITIONS,
      point: {
        serviceId: `service-${service}`,
        name: 'http_latency_ms',
        labels: { route: `/route-${Math.floor(i / SERVICES) % ROUTES}`, method: 'GET' },
        value: Math.round(random() * random() * 1_000),
        timestamp: start + i * 5 - Math.floor(random() * 2_000),
      },
    };
  });
}

const options = { outOfOrdernessMs: 5_000, allowedLatenessMs: 0, idleTimeoutMs: 60_000, rules };

function throughput(started: number): Record<string, number> {
  const seconds = (performance.now() - started) / 1000;
  return { 'points/s': POINTS / seconds, 'µs/point': (seconds * 1e6) / POINTS };
}

/** The alerter fed like the Kafka consumer does: advance and drain once per batch of 500. */
function runAlerter(records: readonly { partition: number; point: Point }[], parse?: readonly string[]): number {
  const alerter = new WindowedAlerter(options);
  for (let p = 0; p < PARTITIONS; p++) alerter.assign(p);
  let outputs = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    alerter.process(record.partition, parse ? (JSON.parse(parse[i]) as Point) : record.point);
    if (i % BATCH === BATCH - 1) {
      alerter.advance();
      const out = alerter.drain();
      outputs += out.windows.length + out.alerts.length;
    }
  }
  return outputs;
}

/**
 * What the alerter replaces: every value of every window in a Map of arrays,
 * aggregated (sorted for the percentile) at the end; absence as a Map of
 * last-seen times.
 */
function runNaive(records: readonly { partition: number; point: Point }[]): number {
  const windows = new Map<string, number[]>();
  const lastSeen = new Map<string, number>();
  for (const { partition, point } of records) {
    const key = seriesKey(point);
    for (const rule of rules) {
      if (rule.kind === 'absence') {
        lastSeen.set(`${partition}|${rule.name}|${key}`, Math.max(lastSeen.get(`${partition}|${rule.name}|${key}`) ?? 0, point.timestamp));
        continue;
      }
      const slide = rule.window.slideMs ?? rule.window.sizeMs;
      for (let start = Math.floor(point.timestamp / slide) * slide; start > point.timestamp - rule.window.sizeMs; start -= slide) {
        const id = `${partition}|${rule.name}|${key}|${start}`;
        const values = windows.get(id);
        if (values) values.push(point.value);
        else windows.set(id, [point.value]);
      }
    }
  }
  let outputs = 0;
  for (const [id, values] of windows) {
    values.sort((a, b) => a - b);
    const aggregate = id.includes('slow-p99')
      ? values[quantileRank(0.99, values.length)]
      : values.reduce((s, v) => s + v, 0) / values.length;
    if (aggregate > 0) outputs++;
  }
  return outputs + lastSeen.size;
}

export default defineBenchmark({
  name: 'windowing',
  description: `${POINTS.toLocaleString('en-US')} points, 1,000 series, 3 rules (p99 tumbling, avg hopping, absence), 6 partitions`,
  headline: { metric: 'points/s', higherIsBetter: true },
  async setup() {
    const records = makePoints();
    const encoded = records.map((r) => JSON.stringify(r.point));
    runAlerter(records.slice(0, 20_000)); // warm up the JIT for both
    runNaive(records.slice(0, 20_000));
    return { records, encoded };
  },
  baseline: {
    name: 'naive Map of per-window arrays',
    async run({ records }) {
      const started = performance.now();
      runNaive(records);
      return throughput(started);
    },
  },
  candidates: [
    {
      name: 'WindowedAlerter.process (+ advance/drain per 500)',
      async run({ records }) {
        const started = performance.now();
        runAlerter(records);
        return throughput(started);
      },
    },
    {
      name: 'JSON.parse + WindowedAlerter',
      async run({ records, encoded }) {
        const started = performance.now();
        runAlerter(records, encoded);
        return throughput(started);
      },
    },
  ],
});
