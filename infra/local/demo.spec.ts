import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { JaegerSpan, JaegerTrace } from './demo-client';
import {
  alertFingerprint,
  alertTransitions,
  APP_PORTS,
  clock,
  counterIncrease,
  DEFAULT_OPTIONS,
  endpoints,
  fanOutThresholds,
  feedCast,
  InputError,
  journeyTrace,
  latencyMs,
  minimumSpikeDurationMs,
  parseArgs,
  pickWeighted,
  progressLine,
  servicePoints,
  SERVICES,
  spikeAt,
  spikeRuleFrom,
  spikeSchedule,
  spikeTiming,
  tierOf,
} from './demo-plan';

const REPO_ROOT = join(__dirname, '../..');
/** The rules the demo's logic is tested on: infra/alerting/rules.json as the demo was written for it (checked below). */
const rulesJson = JSON.stringify({
  rules: [
    {
      kind: 'threshold',
      name: 'http-latency-p99-high',
      metric: 'http_request_duration_ms',
      window: { sizeMs: 60000, slideMs: 10000 },
      aggregation: 'p99',
      op: '>',
      threshold: 500,
      forMs: 60000,
    },
    {
      kind: 'threshold',
      name: 'http-errors-high',
      metric: 'http_requests_failed',
      window: { sizeMs: 60000 },
      aggregation: 'sum',
      op: '>',
      threshold: 50,
    },
    { kind: 'absence', name: 'heartbeat-missing', metric: 'heartbeat', timeoutMs: 30000 },
  ],
});
const composeYaml = 'services: {feed-fanout: {environment: {FANOUT_DIRECT_BELOW: "1000", FEED_CELEBRITY_THRESHOLD: "2000"}}}';
const rule = spikeRuleFrom(rulesJson);
// What the product runs with; a fork that dropped a system has neither the rule nor the fan-out (the demo then refuses to run).
const repoRulesPath = join(REPO_ROOT, 'infra/alerting/rules.json');
const repoCompose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { ports?: string[] }>;
};

describe("the product's own settings", () => {
  if (existsSync(repoRulesPath))
    it('infra/alerting/rules.json holds the rule the demo spikes, as tested here', () => {
      expect(spikeRuleFrom(readFileSync(repoRulesPath, 'utf8'))).toEqual(rule);
    });

  if ('feed-fanout' in repoCompose.services)
    it('docker-compose.yml runs feed-fanout with the thresholds tested here', () => {
      expect(fanOutThresholds(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'))).toEqual(fanOutThresholds(composeYaml));
    });

  it('the demo calls each app on the port docker-compose.yml publishes', () => {
    const published = Object.entries(APP_PORTS).filter(([app]) => app in repoCompose.services);
    expect(published.length).toBeGreaterThan(0);
    for (const [app, port] of published) expect(repoCompose.services[app]?.ports).toContain(`127.0.0.1:${port}:3000`);
  });
});

describe('parseArgs', () => {
  it('defaults to a few minutes at a rate a 2-core machine carries', () => {
    expect(parseArgs([])).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS).toEqual({ rate: 20, minutes: 3 });
  });

  it('reads --rate and --minutes, as two arguments or with =', () => {
    expect(parseArgs(['--rate', '5', '--minutes', '0.5'])).toEqual({ rate: 5, minutes: 0.5 });
    expect(parseArgs(['--minutes=10', '--rate=50'])).toEqual({ rate: 50, minutes: 10 });
    expect(parseArgs(['--rate', '5', '--help'])).toBe('help');
  });

  it.each([
    [['--rate'], '--rate expects a number in (0, 500], got nothing'],
    [['--rate', 'fast'], '--rate expects a number in (0, 500], got "fast"'],
    [['--rate', '0'], '--rate expects a number'],
    [['--rate', '501'], '--rate expects a number'],
    [['--minutes', '-1'], '--minutes expects a number in (0, 120]'],
    [['--minutes='], '--minutes expects a number'],
    [['--seconds', '3'], 'unknown argument "--seconds"'],
    [['3'], 'unknown argument "3"'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(InputError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('endpoints', () => {
  it("are docker-compose.yml's host ports on loopback, plus QLS_APP_PORT_OFFSET, and the observability ports", () => {
    expect(endpoints({})).toEqual({
      apps: {
        'notification-api': 'http://127.0.0.1:3001',
        'notification-dlq-monitor': 'http://127.0.0.1:3002',
        'metrics-ingest': 'http://127.0.0.1:3003',
        'metrics-storage': 'http://127.0.0.1:3004',
        'stream-ops': 'http://127.0.0.1:3005',
        'metrics-dashboard': 'http://127.0.0.1:3006',
        'feed-api': 'http://127.0.0.1:3007',
      },
      jaeger: 'http://127.0.0.1:16686',
      prometheus: 'http://127.0.0.1:9090',
    });
    const moved = endpoints({ QLS_APP_PORT_OFFSET: '100', JAEGER_QUERY_PORT: '26686', PROMETHEUS_PORT: ' 19090 ' });
    expect(moved.apps['feed-api']).toBe('http://127.0.0.1:3107');
    expect(moved.jaeger).toBe('http://127.0.0.1:26686');
    expect(moved.prometheus).toBe('http://127.0.0.1:19090');
    expect(() => endpoints({ QLS_APP_PORT_OFFSET: '-1' })).toThrow('QLS_APP_PORT_OFFSET must be an integer in [0, 50000], got "-1"');
    expect(() => endpoints({ PROMETHEUS_PORT: 'x' })).toThrow(InputError);
  });
});

describe('the spike', () => {
  it('reads the rule from the alerter rules and refuses one it cannot make fire on time', () => {
    expect(rule).toEqual({
      name: 'http-latency-p99-high',
      metric: 'http_request_duration_ms',
      match: {},
      sizeMs: 60_000,
      slideMs: 10_000,
      forMs: 60_000,
      aggregation: 'p99',
      op: '>',
      threshold: 500,
    });
    expect(() => spikeRuleFrom(rulesJson, 'nope')).toThrow('the alert rules have no rule "nope"');
    expect(() => spikeRuleFrom(rulesJson, 'http-errors-high')).toThrow('rule "http-errors-high": the demo spikes threshold rules');
    expect(() => spikeRuleFrom(rulesJson, 'heartbeat-missing')).toThrow(InputError);
  });

  it('lasts long enough for the window ending `for` after the first breaching one, and says when the alert comes', () => {
    // 60 s windows sliding by 10 s, for 60 s: 10 s + a 20 s margin; firing by 10 + 60 s, resolved by 10 + 60 s, + 12 s to close and commit.
    expect(spikeTiming(rule)).toEqual({ spikeMs: 30_000, fireWithinMs: 82_000, resolveWithinMs: 82_000, periodMs: 142_000 });
    // Tumbling 60 s windows, for 120 s: the spike must reach two windows past the first breaching one.
    expect(spikeTiming({ ...rule, slideMs: 60_000, forMs: 120_000 })).toMatchObject({ spikeMs: 140_000, fireWithinMs: 192_000 });
  });

  it('is scheduled only where its alert can fire and resolve before the traffic ends', () => {
    const timing = spikeTiming(rule);
    expect(minimumSpikeDurationMs(timing)).toBe(132_000);
    expect(spikeSchedule(60_000, timing)).toEqual([]);
    expect(spikeSchedule(131_999, timing)).toEqual([]);
    expect(spikeSchedule(180_000, timing)).toEqual([{ startMs: 20_000, endMs: 50_000 }]);
    const long = spikeSchedule(600_000, timing);
    expect(long.map((spike) => spike.startMs)).toEqual([20_000, 162_000, 304_000, 446_000]);
    for (const spike of long) expect(spike.endMs + timing.resolveWithinMs).toBeLessThanOrEqual(600_000);
    expect(spikeAt(long, 162_000)).toEqual({ startMs: 162_000, endMs: 192_000 });
    expect(spikeAt(long, 192_000)).toBeUndefined();
  });
});

describe('servicePoints', () => {
  const checkout = SERVICES[0] ?? { serviceId: '', routes: [] };
  let seed = 0;
  const random = () => (seed = (seed * 9301 + 49297) % 233280) / 233280;

  it('spreads 5 latency points a second per route over (from, to], with distinct timestamps, and one failure count', () => {
    const points = servicePoints(checkout, rule, 10_000, 11_000, () => false, random);
    const latency = points.filter((point) => point.name === 'http_request_duration_ms');
    expect(latency).toHaveLength(10);
    for (const route of checkout.routes) {
      const timestamps = latency.filter((point) => point.labels?.['route'] === route).map((point) => point.timestamp);
      expect(timestamps).toEqual([10_200, 10_400, 10_600, 10_800, 11_000]);
    }
    expect(latency.every((point) => point.serviceId === 'demo-checkout' && point.value > 0 && point.value <= 400)).toBe(true);
    expect(points.filter((point) => point.name === 'http_requests_failed')).toEqual([
      { serviceId: 'demo-checkout', name: 'http_requests_failed', value: expect.any(Number), timestamp: 11_000, labels: {} },
    ]);
    // A late tick covers its whole interval; a tiny one still gets distinct timestamps.
    expect(servicePoints(checkout, rule, 0, 2_400, () => false, random).filter((p) => p.labels?.['route'] === '/pay')).toHaveLength(12);
    const tiny = servicePoints(checkout, rule, 0, 3, () => false, random).filter((p) => p.labels?.['route'] === '/pay');
    expect(tiny.map((point) => point.timestamp)).toEqual([3]);
  });

  it('makes the spiking points breach the threshold', () => {
    const points = servicePoints(checkout, rule, 0, 1_000, (_, route, timestamp) => route === '/pay' && timestamp > 500, random);
    const pay = points.filter((point) => point.labels?.['route'] === '/pay');
    expect(pay.map((point) => point.value > 500)).toEqual([false, false, true, true, true]);
    expect(points.filter((point) => point.labels?.['route'] === '/cart').every((point) => point.value < 500)).toBe(true);
  });

  it('keeps normal latency under 80 % of the threshold and spikes at 1.5–2.5 × it', () => {
    expect(latencyMs(() => 0, 500, false)).toBe(20);
    expect(latencyMs(() => 0.999999999, 500, false)).toBe(400);
    expect(latencyMs(() => 0, 500, true)).toBe(750);
    expect(latencyMs(() => 0.999999999, 500, true)).toBe(1_250);
  });

  it("computes the alerter's fingerprint of a series, whatever the label order", () => {
    // The value libs/metrics/windowing's fingerprint('http-latency-p99-high', 'demo-checkout|http_request_duration_ms|route=/pay') returns.
    const pay = { serviceId: 'demo-checkout', name: 'http_request_duration_ms', labels: { route: '/pay' } };
    expect(alertFingerprint('http-latency-p99-high', pay)).toBe('80ce94e3b0dae3fe');
    const two = (labels: Record<string, string>) => alertFingerprint('r', { serviceId: 's', name: 'm', labels });
    expect(two({ a: '1', b: '2' })).toBe(two({ b: '2', a: '1' }));
  });
});

describe('the feed cast', () => {
  const thresholds = fanOutThresholds(composeYaml);

  it("reads the thresholds from feed-fanout's environment in docker-compose.yml", () => {
    expect(thresholds).toEqual({ directBelow: 1_000, celebrityAt: 2_000 });
    expect(() => fanOutThresholds('services: {feed-fanout: {environment: {FANOUT_DIRECT_BELOW: many}}}')).toThrow(
      "docker-compose.yml: feed-fanout's FANOUT_DIRECT_BELOW is not a count (many)",
    );
  });

  it('places authors in tiers by follower count, as the fan-out does', () => {
    expect(tierOf(999, thresholds)).toBe('direct');
    expect(tierOf(1_000, thresholds)).toBe('queued');
    expect(tierOf(1_999, thresholds)).toBe('queued');
    expect(tierOf(2_000, thresholds)).toBe('pull');
  });

  it('builds an author of each tier with the local thresholds, a real celebrity among them', () => {
    const cast = feedCast(thresholds);
    expect(cast.readers).toHaveLength(24);
    expect(cast.readers[0]).toBe('demo-reader-01');
    expect(cast.authors).toEqual([
      { id: 'demo-ana', followers: 24, fans: 0, tier: 'direct' },
      { id: 'demo-ben', followers: 24, fans: 0, tier: 'direct' },
      { id: 'demo-cleo', followers: 24, fans: 0, tier: 'direct' },
      { id: 'demo-newsroom', followers: 1_010, fans: 986, tier: 'queued' },
      { id: 'demo-star', followers: 2_010, fans: 1_986, tier: 'pull' },
    ]);
    expect(cast.fans).toBe(1_986);
    expect(cast.missing).toEqual([]);
  });

  it("says why there is no celebrity with production's threshold of 100,000 followers, and does not fake one", () => {
    const cast = feedCast({ directBelow: 1_000, celebrityAt: 100_000 });
    expect(cast.authors.map((author) => author.tier)).toEqual(['direct', 'direct', 'direct', 'queued']);
    expect(cast.fans).toBe(986);
    expect(cast.missing).toEqual([
      {
        tier: 'pull',
        reason: 'FEED_CELEBRITY_THRESHOLD is 100,000: it takes 100,010 followers, and the demo makes at most 5,000 accounts',
      },
    ]);
  });

  it('keeps the queued author below the celebrity threshold when the two are close together', () => {
    expect(feedCast({ directBelow: 1_000, celebrityAt: 1_005 }).authors.find((a) => a.id === 'demo-newsroom')).toMatchObject({
      followers: 1_004,
      tier: 'queued',
    });
  });

  it('names the tiers the thresholds leave no room for', () => {
    expect(feedCast({ directBelow: 2_000, celebrityAt: 2_000 }).missing.map((missing) => missing.tier)).toEqual(['queued']);
    expect(feedCast({ directBelow: 10, celebrityAt: 100_000 }).missing).toEqual([
      { tier: 'pull', reason: expect.any(String) },
      { tier: 'direct', reason: 'FANOUT_DIRECT_BELOW is 10: 24 followers are already too many' },
    ]);
  });
});

describe('pickWeighted', () => {
  it('picks by cumulative weight', () => {
    const mix = [
      ['a', 0.4],
      ['b', 0.1],
      ['c', 0.5],
    ] as const;
    expect(pickWeighted(mix, () => 0)).toBe('a');
    expect(pickWeighted(mix, () => 0.39)).toBe('a');
    expect(pickWeighted(mix, () => 0.41)).toBe('b');
    expect(pickWeighted(mix, () => 0.51)).toBe('c');
    expect(pickWeighted(mix, () => 0.999)).toBe('c');
  });
});

describe('reading Jaeger', () => {
  const span = (spanID: string, processID: string, startTime: number, tags: Record<string, string>, parent?: string): JaegerSpan => ({
    traceID: 't',
    spanID,
    operationName: 'op',
    references: parent === undefined ? [] : [{ refType: 'CHILD_OF', spanID: parent }],
    startTime,
    duration: 1,
    processID,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  });
  const processes = {
    p1: { serviceName: 'metrics-ingest' },
    p2: { serviceName: 'metrics-alerter' },
    p3: { serviceName: 'notification-api' },
    p4: { serviceName: 'outbox-relay' },
    p5: { serviceName: 'notification-worker' },
  };

  it('finds the transitions of one alert, oldest first, with the notification each became', () => {
    const firing: JaegerTrace = {
      traceID: 'trace-firing',
      processes,
      spans: [
        span('ingest', 'p1', 1_000_000, {}),
        span('alert', 'p2', 90_000_000, { 'alert.fingerprint': 'f1', 'alert.status': 'firing' }, 'ingest'),
        span('api', 'p3', 90_500_000, {}, 'alert'),
        span('send', 'p5', 90_600_000, { 'notification.id': 'n-1' }, 'api'),
        // A notification of the same trace not below the alert span.
        span('other', 'p5', 90_700_000, { 'notification.id': 'n-other' }, 'ingest'),
      ],
    };
    const pending: JaegerTrace = {
      traceID: 'trace-pending',
      processes,
      spans: [
        span('alert-p', 'p2', 30_000_000, { 'alert.fingerprint': 'f1', 'alert.status': 'pending' }),
        span('alert-x', 'p2', 31_000_000, { 'alert.fingerprint': 'f2', 'alert.status': 'firing' }),
      ],
    };
    expect(alertTransitions([firing, pending, firing], 'f1')).toEqual([
      { status: 'pending', atMs: 30_000, traceId: 'trace-pending', notificationId: undefined },
      { status: 'firing', atMs: 90_000, traceId: 'trace-firing', notificationId: 'n-1' },
    ]);
  });

  it("picks a user's notification journey: the API, the relay and the worker, no alerter", () => {
    const trace = (traceID: string, ids: string[]): JaegerTrace => ({
      traceID,
      processes,
      spans: ids.map((processID, i) => span(`${traceID}-${i}`, processID, i, {})),
    });
    const journey = journeyTrace([
      trace('partial', ['p3', 'p4']),
      trace('alert', ['p2', 'p3', 'p4', 'p5']),
      trace('full', ['p3', 'p4', 'p5']),
    ]);
    expect(journey?.traceID).toBe('full');
  });
});

describe('the summary', () => {
  it("reports counters' increase, restarts and new series included", () => {
    const before = [
      { labels: { tier: 'direct' }, value: 10 },
      { labels: { tier: 'queued' }, value: 50 },
    ];
    const after = [
      { labels: { tier: 'direct' }, value: 25 },
      { labels: { tier: 'queued' }, value: 3 },
      { labels: { tier: 'pull' }, value: 2 },
    ];
    expect(counterIncrease(before, after, 'tier')).toEqual({ direct: 15, queued: 3, pull: 2 });
  });

  it('prints elapsed time and one progress line', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(83_999)).toBe('1:23');
    expect(
      progressLine({
        elapsedMs: 83_000,
        durationMs: 180_000,
        accepted: 1_234,
        sent: 1_200,
        deadLettered: 0,
        points: 9_876,
        alert: 'alert firing',
        posts: 42,
        reads: 77,
        follows: 5,
        errors: 0,
      }),
    ).toBe(
      'demo 1:23/3:00 | notifications 1,234, sent 1,200, DLQ 0 | points 9,876, alert firing | posts 42, reads 77, (un)follows 5 | errors 0',
    );
  });
});
