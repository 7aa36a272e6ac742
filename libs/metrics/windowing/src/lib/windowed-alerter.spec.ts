import { alertEventV1 } from '@qls/metrics-contracts';
import { fingerprint } from './alerts';
import type { RuleInput } from './rules';
import type { AlerterOptions, PartitionSnapshot, Point } from './types';
import { WindowedAlerter } from './windowed-alerter';

const point = (
  timestamp: number,
  value = 1,
  labels: Record<string, string> = { route: '/pay' },
  name = 'latency_ms',
  serviceId = 'checkout',
): Point => ({
  serviceId,
  name,
  labels,
  value,
  timestamp,
});

const maxLatency = (overrides: Partial<Extract<RuleInput, { kind: 'threshold' }>> = {}): RuleInput => ({
  kind: 'threshold',
  name: 'slow',
  metric: 'latency_ms',
  window: { sizeMs: 10 },
  aggregation: 'max',
  op: '>',
  threshold: 100,
  ...overrides,
});

function alerter(rules: RuleInput[], options: Partial<AlerterOptions> = {}): WindowedAlerter {
  const created = new WindowedAlerter({
    outOfOrdernessMs: 0,
    allowedLatenessMs: 0,
    idleTimeoutMs: 60_000,
    now: () => 0,
    rules,
    ...options,
  });
  created.assign(0);
  return created;
}

/** Processes the points on partition 0, advancing once at the end. */
function feed(target: WindowedAlerter, points: Point[]): void {
  for (const p of points) target.process(0, p);
  target.advance();
}

describe('WindowedAlerter', () => {
  describe('one point per (series, timestamp)', () => {
    it('drops and counts a later point of the same series and timestamp, also after a snapshot round trip, and takes other series and times', () => {
      const a = alerter([maxLatency({ aggregation: 'sum', window: { sizeMs: 100 } })], { allowedLatenessMs: 50 });
      expect([
        a.process(0, point(10, 5)),
        a.process(0, point(10, 7)),
        a.process(0, point(11, 1)),
        a.process(0, point(10, 1, { route: '/cart' })),
      ]).toEqual([true, false, true, true]);
      const restored = alerter([maxLatency({ aggregation: 'sum', window: { sizeMs: 100 } })], { allowedLatenessMs: 50 });
      restored.revoke(0);
      restored.assign(0, JSON.parse(JSON.stringify(a.snapshot(0))) as PartitionSnapshot);
      expect(restored.process(0, point(11, 9))).toBe(false);
      feed(restored, [point(1_000)]);
      expect(restored.drain().windows.map((w) => [w.labels['route'], w.start, w.count, w.sum])).toEqual([
        ['/pay', 0, 2, 6],
        ['/cart', 0, 1, 1],
      ]);
      expect(a.stats().duplicates + restored.stats().duplicates).toBe(2);
    });

    it('forgets points once no window can take them: a repeat then is late, not a duplicate', () => {
      const a = alerter([maxLatency({ window: { sizeMs: 10 } })]);
      feed(a, [point(5), point(100_000)]);
      expect(a.snapshot(0).seen).toEqual([[expect.stringContaining('checkout'), [100_000]]]);
      expect(a.process(0, point(5))).toBe(true);
      expect(a.drain().late.map((late) => late.point.timestamp)).toEqual([5]);
      expect(a.stats().duplicates).toBe(0);
    });
  });

  describe('window assignment', () => {
    it('puts an event at a tumbling boundary into the window it starts, not the one it ends', () => {
      const a = alerter([maxLatency({ aggregation: 'count' })]);
      feed(a, [point(0), point(9), point(10), point(100)]);
      expect(a.drain().windows.map((w) => [w.start, w.end, w.count])).toEqual([
        [0, 10, 2],
        [10, 20, 1],
      ]);
    });

    it('puts an event into every hopping window with start ≤ t < start + size, starts aligned to the slide', () => {
      const a = alerter([maxLatency({ aggregation: 'sum', window: { sizeMs: 10, slideMs: 5 } })]);
      feed(a, [point(4, 1), point(5, 10), point(100, 0)]);
      expect(a.drain().windows.map((w) => [w.start, w.end, w.sum])).toEqual([
        [-5, 5, 1],
        [0, 10, 11],
        [5, 15, 10],
      ]);
    });

    it('aggregates count, sum, min, max, avg and a percentile, the rule reading its own aggregate', () => {
      const a = alerter([maxLatency({ aggregation: 'p90', window: { sizeMs: 1000 } })]);
      feed(a, [...Array.from({ length: 100 }, (_, i) => point(i, i + 1)), point(5000)]);
      const [w] = a.drain().windows;
      expect(w).toMatchObject({ count: 100, sum: 5050, min: 1, max: 100, avg: 50.5, percentile: { q: 0.9 } });
      // Exact value at rank ⌊0.9·99⌋ = 89 is 90; the sketch answers within 1 %.
      expect(w.value).toBe(w.percentile?.value);
      expect(Math.abs(w.value - 90)).toBeLessThanOrEqual(0.9);
    });

    it('keeps a sketch only in the windows of percentile rules', () => {
      const a = alerter([maxLatency({ name: 'avg', aggregation: 'avg' }), maxLatency({ name: 'p99', aggregation: 'p99' })]);
      a.process(0, point(1));
      const windows = a.snapshot(0).threshold.map((s) => [s.rule, s.windows[0].sketch === undefined]);
      expect(windows).toEqual([
        ['avg', true],
        ['p99', false],
      ]);
    });

    it('evaluates only points of the rule metric whose labels include every `match` label', () => {
      const a = alerter([maxLatency({ aggregation: 'count', match: { route: '/pay', code: '500' } })]);
      feed(a, [
        point(1, 1, { route: '/pay', code: '500', pod: 'a' }),
        point(2, 1, { route: '/pay', code: '200' }),
        point(3, 1, { route: '/pay' }),
        point(4, 1, { route: '/pay', code: '500' }, 'other_metric'),
        point(100, 1, {}, 'other_metric'),
      ]);
      expect(a.drain().windows.map((w) => [w.labels, w.count])).toEqual([[{ route: '/pay', code: '500', pod: 'a' }, 1]]);
    });
  });

  describe('threshold alerts', () => {
    it('goes pending, fires once `for` has elapsed in event time, and resolves, each transition once', () => {
      const a = alerter([maxLatency({ forMs: 20 })]);
      const values = [500, 500, 500, 500, 5, 5];
      feed(a, [...values.map((v, i) => point(i * 10 + 1, v)), point(1000, 1, { route: '/other' })]);
      const alerts = a.drain().alerts;
      const fp = fingerprint('slow', 'checkout|latency_ms|route=/pay');
      expect(alerts.map((t) => [t.status, t.activeAt, t.at, t.value, t.id])).toEqual([
        ['pending', 10, 10, 500, `${fp}:10:pending`],
        ['firing', 10, 30, 500, `${fp}:10:firing`],
        ['resolved', 10, 50, 5, `${fp}:10:resolved`],
      ]);
      expect(alerts[0].summary).toBe(
        'max of latency_ms{route="/pay"} for checkout was 500 > 100 over [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:00.010Z)',
      );
      expect(alerts[2].summary).toContain('was 5, no longer > 100');
    });

    it('goes straight to firing when `for` is 0 and forgets a pending alert that stops breaching without a word', () => {
      const instant = alerter([maxLatency()]);
      feed(instant, [point(1, 500), point(11, 500), point(100, 1, {})]);
      expect(instant.drain().alerts.map((t) => t.status)).toEqual(['firing', 'resolved']);

      const patient = alerter([maxLatency({ forMs: 30 })]);
      feed(patient, [point(1, 500), point(11, 500), point(21, 5), point(31, 500), point(100, 1, {})]);
      expect(patient.drain().alerts.map((t) => [t.status, t.activeAt])).toEqual([
        ['pending', 10],
        ['pending', 40],
      ]);
    });

    it('resolves a firing alert when its series stops sending (the missing window is no data)', () => {
      const a = alerter([maxLatency()]);
      feed(a, [point(1, 500), point(55, 1, { route: '/other' })]);
      const alerts = a.drain().alerts;
      expect(alerts.map((t) => [t.status, t.at, t.value])).toEqual([
        ['firing', 10, 500],
        ['resolved', 20, null],
      ]);
      expect(alerts[1].summary).toBe(
        'no data for latency_ms{route="/pay"} for checkout over [1970-01-01T00:00:00.010Z, 1970-01-01T00:00:00.020Z)',
      );
      expect(a.stats().series).toBe(1); // only /other is still open: the resolved series is gone
    });

    it('treats an empty window as not breaching, even for `count < 3`', () => {
      const a = alerter([maxLatency({ aggregation: 'count', op: '<', threshold: 3 })]);
      feed(a, [point(1), point(500, 1, { route: '/other' })]);
      expect(a.drain().alerts.map((t) => [t.serviceId, t.labels, t.status, t.at, t.value])).toEqual([
        ['checkout', { route: '/pay' }, 'firing', 10, 1],
        ['checkout', { route: '/pay' }, 'resolved', 20, 0],
      ]);
    });

    it('emits transitions that are valid contract alert events, carrying the trace context of the window', () => {
      const a = alerter([maxLatency({ severity: 'critical' })]);
      a.process(0, point(1, 500), { context: '00-first-01' });
      a.process(0, point(2, 5), { context: '00-latest-01' });
      a.process(0, point(3, 5));
      feed(a, [point(100, 1, {})]);
      const [firing] = a.drain().alerts;
      expect(firing).toMatchObject({ status: 'firing', severity: 'critical', kind: 'threshold', partition: 0, context: '00-latest-01' });
      const { partition: _partition, context: _context, ...event } = firing;
      expect(alertEventV1.strict().parse({ schemaVersion: 1, ...event })).toEqual({ schemaVersion: 1, ...event });
    });

    it('names one alert per rule and series whatever the label order', () => {
      const a = alerter([maxLatency({ aggregation: 'count' })]);
      feed(a, [point(1, 1, { route: '/pay', code: '500' }), point(2, 1, { code: '500', route: '/pay' }), point(100, 1, {})]);
      const [w] = a.drain().windows;
      expect(w.count).toBe(2);
      expect(w.fingerprint).toBe(fingerprint('slow', 'checkout|latency_ms|code=500|route=/pay'));
      expect(w.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(fingerprint('slow', 'checkout|latency_ms|code=500|route=/pay')).not.toBe(
        fingerprint('slower', 'checkout|latency_ms|code=500|route=/pay'),
      );
    });
  });

  describe('lateness', () => {
    it('updates a window with a late event inside the allowed lateness, and sends a later one to the side output', () => {
      const a = alerter([maxLatency({ aggregation: 'count' })], { outOfOrdernessMs: 5, allowedLatenessMs: 10 });
      a.process(0, point(3));
      a.process(0, point(20)); // ew = 15: [0,10) is behind the watermark but within lateness
      a.process(0, point(4), { offset: '7' }); // still 10 + 10 > 15: counted
      a.process(0, point(26)); // ew = 21 ≥ 10 + 10: [0,10) is final
      a.process(0, point(5), { offset: '9' });
      a.advance();
      const { windows, late } = a.drain();
      expect(windows.map((w) => [w.start, w.count])).toEqual([[0, 2]]);
      expect(late).toEqual([
        { point: point(5), partition: 0, offset: '9', reason: 'later than allowed lateness', watermark: 21, lateByMs: 16 },
      ]);
      expect(a.stats()).toMatchObject({ processed: 5, late: 1, partiallyLate: 0 });
    });

    it('keeps an event in the hopping windows still open and counts it as partially late', () => {
      const a = alerter([maxLatency({ aggregation: 'count', window: { sizeMs: 20, slideMs: 10 } })]);
      a.process(0, point(15));
      a.process(0, point(25)); // ew = 25: [0,20) is final, [10,30) is not
      a.process(0, point(12)); // belongs to [0,20) and [10,30)
      feed(a, [point(100, 1, {})]);
      const { windows, late } = a.drain();
      expect(windows.map((w) => [w.start, w.count])).toEqual([
        [0, 1],
        [10, 3],
        [20, 1],
      ]);
      expect(late).toEqual([]);
      expect(a.stats()).toMatchObject({ late: 0, partiallyLate: 1 });
    });
  });

  describe('absence alerts', () => {
    const heartbeat: RuleInput = { kind: 'absence', name: 'silent', metric: 'heartbeat', timeoutMs: 30, severity: 'critical' };
    const beat = (t: number, serviceId = 'checkout') => point(t, 1, {}, 'heartbeat', serviceId);

    it('fires exactly when the watermark reaches lastSeen + timeout and resolves on the next event', () => {
      const a = alerter([heartbeat], { outOfOrdernessMs: 5 });
      a.process(0, beat(100), { context: '00-last-beat-01' });
      a.process(0, beat(134, 'cart')); // ew = 129 < 130
      expect(a.drain().alerts).toEqual([]);
      a.process(0, beat(135, 'cart')); // ew = 130
      const [firing] = a.drain().alerts;
      expect(firing).toMatchObject({
        status: 'firing',
        serviceId: 'checkout',
        activeAt: 130,
        at: 130,
        value: null,
        context: '00-last-beat-01',
      });
      expect(firing.summary).toBe('no heartbeat for checkout for 30 ms since 1970-01-01T00:00:00.100Z');
      a.process(0, beat(140, 'cart'));
      a.process(0, beat(138));
      const [resolved] = a.drain().alerts;
      expect(resolved).toMatchObject({
        status: 'resolved',
        serviceId: 'checkout',
        activeAt: 130,
        at: 138,
        id: `${firing.fingerprint}:130:resolved`,
      });
    });

    it('does not resolve on an event so old the series would still be absent since it', () => {
      const a = alerter([heartbeat]);
      a.process(0, beat(100));
      a.process(0, beat(200, 'cart'));
      a.process(0, beat(150)); // 150 + 30 ≤ 200: still silent since 150
      expect(a.drain().alerts.map((t) => [t.serviceId, t.status])).toEqual([['checkout', 'firing']]);
    });

    it('knows a series only after its first event', () => {
      const a = alerter([heartbeat]);
      a.process(0, beat(100));
      a.process(0, point(10_000, 1, {}, 'latency_ms', 'cart'));
      expect(a.drain().alerts.map((t) => t.serviceId)).toEqual(['checkout']);
    });
  });

  describe('watermarks and idleness', () => {
    const clock = { now: 0 };
    const rules = [maxLatency({ aggregation: 'count', window: { sizeMs: 60_000 } })];
    const twoPartitions = () => {
      clock.now = 1_000_000;
      const a = new WindowedAlerter({ outOfOrdernessMs: 1_000, allowedLatenessMs: 0, idleTimeoutMs: 30_000, now: () => clock.now, rules });
      a.assign(0);
      a.assign(1);
      return a;
    };

    it('holds W at −Infinity until every active partition has a record, but not past the idle timeout', () => {
      const a = twoPartitions();
      a.process(0, point(1_000_000));
      a.advance();
      expect(a.watermark()).toBe(-Infinity);
      clock.now += 30_000;
      a.process(0, point(1_030_000)); // partition 0 active, partition 1 idle since assign
      a.advance();
      expect(a.watermark()).toBe(1_029_000);
    });

    it('closes a quiet key’s last window on wall-clock time once every partition is idle', () => {
      const a = twoPartitions();
      a.process(0, point(1_000_000)); // window [960,000, 1,020,000)
      a.process(1, point(1_000_000));
      a.advance();
      expect(a.watermark()).toBe(999_000); // without wall clock, it would stay here: no record ever comes
      clock.now = 1_050_999; // idle: 1,050,999 − 1,000 out-of-orderness − 30,000 idle timeout = 1,019,999
      a.advance();
      expect(a.drain().windows).toEqual([]);
      clock.now = 1_051_000;
      a.advance();
      expect(a.watermark()).toBe(1_020_000);
      expect(a.drain().windows.map((w) => [w.partition, w.start, w.end, w.count])).toEqual([
        [0, 960_000, 1_020_000, 1],
        [1, 960_000, 1_020_000, 1],
      ]);
    });

    it("recomputes W from the partitions it holds when they change: a partition taken on never inherits another's watermark (a member fenced, then assigned an earlier partition)", () => {
      const a = new WindowedAlerter({ outOfOrdernessMs: 0, allowedLatenessMs: 0, idleTimeoutMs: Infinity, rules });
      a.assign(1);
      a.process(1, point(1_100_000));
      a.advance();
      expect(a.watermark()).toBe(1_100_000);
      // Partition 1 went to another member; partition 0 comes back from its checkpoint, far behind.
      const behind = new WindowedAlerter({ outOfOrdernessMs: 0, allowedLatenessMs: 0, idleTimeoutMs: Infinity, rules });
      behind.assign(0);
      behind.process(0, point(1_000_000));
      behind.advance();
      a.revoke(1);
      a.assign(0, behind.snapshot(0));
      a.process(0, point(1_001_000));
      a.advance();
      a.process(0, point(1_002_000));
      a.advance();
      expect(a.drain().late).toEqual([]);
      expect(a.watermark()).toBe(1_002_000);
    });

    it('never moves W backwards when an idle partition wakes up behind it', () => {
      const a = twoPartitions();
      a.process(0, point(1_000_000));
      a.process(1, point(1_000_000));
      clock.now += 100_000;
      a.advance();
      const idleWatermark = a.watermark();
      expect(idleWatermark).toBe(1_069_000);
      a.process(0, point(1_005_000));
      a.advance();
      expect(a.watermark()).toBe(idleWatermark);
    });

    it('keeps dropping events behind a wall-clock watermark after a snapshot round trip', () => {
      const a = twoPartitions();
      a.process(0, point(1_000_000));
      clock.now += 100_000;
      a.advance(); // W = 1,069,000 applied to partition 0
      const restored = new WindowedAlerter({
        outOfOrdernessMs: 1_000,
        allowedLatenessMs: 0,
        idleTimeoutMs: 30_000,
        now: () => clock.now,
        rules,
      });
      restored.assign(0, JSON.parse(JSON.stringify(a.snapshot(0))) as PartitionSnapshot);
      restored.process(0, point(1_010_000));
      expect(restored.drain().late.map((l) => [l.point.timestamp, l.watermark])).toEqual([[1_010_000, 1_069_000]]);
    });

    it('fires absence alerts of an idle partition on wall-clock time', () => {
      clock.now = 1_000_000;
      const a = new WindowedAlerter({
        outOfOrdernessMs: 1_000,
        allowedLatenessMs: 0,
        idleTimeoutMs: 30_000,
        now: () => clock.now,
        rules: [{ kind: 'absence', name: 'silent', metric: 'heartbeat', timeoutMs: 10_000 }],
      });
      a.assign(0);
      a.process(0, point(1_000_000, 1, {}, 'heartbeat'));
      clock.now = 1_041_000; // wall-clock watermark 1,010,000 = lastSeen + timeout
      a.advance();
      expect(a.drain().alerts.map((t) => [t.status, t.activeAt])).toEqual([['firing', 1_010_000]]);
    });
  });

  describe('partitions and snapshots', () => {
    it('assigns, lists, revokes, and refuses records of partitions it does not own', () => {
      const a = alerter([maxLatency()]);
      a.assign(3);
      expect(a.partitions()).toEqual([0, 3]);
      expect(() => a.assign(3)).toThrow(/already assigned/);
      a.process(3, point(1));
      a.revoke(3);
      expect(a.partitions()).toEqual([0]);
      expect(a.stats()).toMatchObject({ series: 0, openWindows: 0 });
      expect(() => a.process(3, point(2))).toThrow(/not assigned/);
    });

    it('drops restored states of a rule whose window changed, and keeps those of unchanged rules', () => {
      const before = alerter([maxLatency({ name: 'a' }), maxLatency({ name: 'b' })]);
      before.process(0, point(1, 500));
      const snapshot = JSON.parse(JSON.stringify(before.snapshot(0))) as PartitionSnapshot;
      const after = new WindowedAlerter({
        outOfOrdernessMs: 0,
        allowedLatenessMs: 0,
        idleTimeoutMs: 60_000,
        rules: [maxLatency({ name: 'a', severity: 'page' }), maxLatency({ name: 'b', window: { sizeMs: 20 } })],
      });
      after.assign(0, snapshot);
      feed(after, [point(100, 1, {})]);
      expect(after.drain().windows.map((w) => [w.rule, w.start, w.max])).toEqual([['a', 0, 500]]);
    });

    it('validates its options and rules', () => {
      expect(() => alerter([maxLatency()], { outOfOrdernessMs: -1 })).toThrow(/outOfOrdernessMs/);
      expect(() => alerter([maxLatency({ window: { sizeMs: 10, slideMs: 3 } })])).toThrow(/rule "slow" \(rules\[0\]\) window\.slideMs/);
    });
  });
});
