import fc from 'fast-check';
import { referenceEvaluate, type ReferenceEvent } from './reference';
import { aggregations, comparisonOps, type RuleInput } from './rules';
import { SKETCH_RELATIVE_ACCURACY } from './sketch';
import type { AlerterOptions, AlerterOutput, AlertTransition, PartitionSnapshot, WindowResult } from './types';
import { WindowedAlerter } from './windowed-alerter';

/**
 * The alerter against the brute-force reference on random streams. Values and
 * thresholds are chosen so that no threshold lies within the sketch's 1 % of
 * a value: a percentile estimate then breaches exactly when the exact value
 * does, and alerts must match exactly (values of percentile rules within 1 %).
 */
const VALUES = [-50, -5, 0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
const THRESHOLDS = [-10, 0.5, 4, 10, 25, 40, 70];

const match = fc.option(fc.constant({ region: 'eu' }), { nil: undefined });
const metric = fc.constantFrom('m1', 'm2');

const thresholdRule = fc
  .record({
    metric,
    match,
    slideMs: fc.constantFrom(5, 10),
    panes: fc.integer({ min: 1, max: 3 }),
    hopping: fc.boolean(),
    aggregation: fc.constantFrom(...aggregations),
    op: fc.constantFrom(...comparisonOps),
    threshold: fc.constantFrom(...THRESHOLDS),
    forPanes: fc.integer({ min: 0, max: 2 }),
  })
  .map(
    ({ slideMs, panes, hopping, forPanes, match, ...rest }): RuleInput => ({
      kind: 'threshold',
      name: '',
      ...rest,
      ...(match === undefined ? {} : { match }),
      window: hopping ? { sizeMs: slideMs * panes, slideMs } : { sizeMs: slideMs * panes },
      forMs: forPanes * slideMs,
    }),
  );

const absenceRule = fc.record({ metric, match, timeoutMs: fc.integer({ min: 5, max: 40 }) }).map(
  ({ match, ...rest }): RuleInput => ({
    kind: 'absence',
    name: '',
    severity: 'critical',
    ...rest,
    ...(match === undefined ? {} : { match }),
  }),
);

const rules = fc
  .tuple(fc.array(thresholdRule, { minLength: 1, maxLength: 3 }), fc.array(absenceRule, { maxLength: 2 }))
  .map(([thresholds, absences]) => [...thresholds, ...absences].map((rule, i) => ({ ...rule, name: `rule-${i}` })));

const options = fc.record({
  outOfOrdernessMs: fc.constantFrom(0, 5, 20),
  allowedLatenessMs: fc.constantFrom(0, 10),
  rules,
});

const step = fc.record({
  partition: fc.integer({ min: 0, max: 2 }),
  dt: fc.integer({ min: 0, max: 8 }),
  /** Fraction (in %) of the maximum disorder this event lags its partition's clock by. */
  lag: fc.integer({ min: 0, max: 100 }),
  service: fc.constantFrom('a', 'b', 'c'),
  region: fc.constantFrom('eu', 'us'),
  metric,
  value: fc.constantFrom(...VALUES),
  context: fc.option(fc.constantFrom('00-aa-01-01', '00-bb-02-01'), { nil: undefined }),
  /** Call advance() after this record: random batch boundaries. */
  advance: fc.boolean(),
});

interface Scenario {
  readonly options: AlerterOptions;
  readonly events: ReferenceEvent[];
  readonly advanceAfter: boolean[];
}

/**
 * Events with at most `maxDisorder` behind their partition's clock. `flush`
 * ends every partition with a far-future record of a metric no rule reads, so
 * that every window becomes final (the documented way to flush in tests).
 */
function scenario(maxDisorder: (o: { outOfOrdernessMs: number; allowedLatenessMs: number }) => number): fc.Arbitrary<Scenario> {
  return fc
    .record({ options, steps: fc.array(step, { maxLength: 200, size: 'max' }), flush: fc.boolean() })
    .map(({ options, steps, flush }) => {
      const disorder = maxDisorder(options);
      const clocks = new Map<number, number>();
      const events: ReferenceEvent[] = steps.map((s, i) => {
        const clock = (clocks.get(s.partition) ?? 1_000) + s.dt;
        clocks.set(s.partition, clock);
        return {
          partition: s.partition,
          point: {
            serviceId: s.service,
            name: s.metric,
            labels: { region: s.region },
            value: s.value,
            timestamp: clock - Math.floor((s.lag * disorder) / 100),
          },
          meta: { offset: String(i), ...(s.context === undefined ? {} : { context: s.context }) },
        };
      });
      const advanceAfter = steps.map((s) => s.advance);
      if (flush) {
        for (const partition of clocks.keys()) {
          events.push({ partition, point: { serviceId: 'flush', name: 'flush', labels: {}, value: 0, timestamp: 100_000 }, meta: {} });
          advanceAfter.push(false);
        }
      }
      return { options: { ...options, idleTimeoutMs: 60_000, now: () => 0 }, events, advanceAfter };
    });
}

const partitionsOf = (events: readonly ReferenceEvent[]) => [...new Set(events.map((e) => e.partition))].sort((a, b) => a - b);

/** Feeds the scenario with advance() at its batch boundaries and once at the end. */
function run({ options, events, advanceAfter }: Scenario): AlerterOutput {
  const alerter = new WindowedAlerter(options);
  for (const partition of partitionsOf(events)) alerter.assign(partition);
  events.forEach((event, i) => {
    alerter.process(event.partition, event.point, event.meta);
    if (advanceAfter[i]) alerter.advance();
  });
  alerter.advance();
  return alerter.drain();
}

function expectWithinSketchAccuracy(actual: number, exact: number): void {
  expect(Math.abs(actual - exact)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * Math.abs(exact) * (1 + 1e-9));
}

const sortedBy = <T>(items: readonly T[], key: (item: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));
const sortedWindows = (windows: readonly WindowResult[]) =>
  sortedBy(windows, (w) => JSON.stringify([w.partition, w.rule, w.fingerprint, w.start]));
/** Everything but the estimate: compared exactly. */
const withoutEstimate = (w: WindowResult) =>
  w.percentile === undefined ? w : { ...w, value: 'estimate', percentile: { q: w.percentile.q } };

/** Alerts of one (partition, fingerprint) keep their order (the sort is stable); the order across alerts depends on batching. */
const byAlert = (alerts: readonly AlertTransition[]) => sortedBy(alerts, (a) => `${a.partition}:${a.fingerprint}`);

function expectSameAsReference(actual: AlerterOutput, expected: AlerterOutput, percentileRules: ReadonlySet<string>): void {
  expect(actual.late).toEqual(expected.late);

  const [windows, expectedWindows] = [sortedWindows(actual.windows), sortedWindows(expected.windows)];
  expect(windows.map(withoutEstimate)).toEqual(expectedWindows.map(withoutEstimate));
  windows.forEach((w, i) => w.percentile && expectWithinSketchAccuracy(w.value, expectedWindows[i].value));

  const [alerts, expectedAlerts] = [byAlert(actual.alerts), byAlert(expected.alerts)];
  const comparable = (a: AlertTransition) =>
    percentileRules.has(a.rule) && a.value !== null ? { ...a, value: 'estimate', summary: 'with the estimate' } : a;
  expect(alerts.map(comparable)).toEqual(expectedAlerts.map(comparable));
  alerts.forEach(
    (a, i) => a.value !== null && percentileRules.has(a.rule) && expectWithinSketchAccuracy(a.value, expectedAlerts[i].value as number),
  );
}

const percentileRulesOf = (o: AlerterOptions) =>
  new Set(o.rules.flatMap((r) => (r.kind === 'threshold' && r.aggregation.startsWith('p') ? [r.name] : [])));

/** 100 random streams of up to 200 records each: about a second, more on a loaded CI machine. */
const PROPERTY_TIMEOUT_MS = 30_000;

describe('WindowedAlerter against the brute-force reference', () => {
  it(
    'closes the same windows and emits the same alerts whatever the batch boundaries (disorder within out-of-orderness)',
    () => {
      fc.assert(
        fc.property(
          scenario((o) => o.outOfOrdernessMs),
          (s) => {
            const output = run(s);
            expect(output.late).toEqual([]);
            expectSameAsReference(output, referenceEvaluate(s.options, s.events), percentileRulesOf(s.options));
          },
        ),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'routes the same events to the late side output and still agrees on everything else (disorder beyond lateness)',
    () => {
      let lateSeen = 0;
      fc.assert(
        fc.property(
          scenario((o) => o.outOfOrdernessMs + o.allowedLatenessMs + 40),
          (s) => {
            const output = run(s);
            lateSeen += output.late.length;
            expectSameAsReference(output, referenceEvaluate(s.options, s.events), percentileRulesOf(s.options));
          },
        ),
      );
      expect(lateSeen).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'continues from a JSON round trip of its snapshots exactly as an uninterrupted run (crash or rebalance)',
    () => {
      fc.assert(
        fc.property(
          scenario((o) => o.outOfOrdernessMs + o.allowedLatenessMs + 40),
          fc.nat(),
          (s, cutSeed) => {
            const cut = s.events.length === 0 ? 0 : cutSeed % (s.events.length + 1);
            const uninterrupted = run(s);

            const first = new WindowedAlerter(s.options);
            const partitions = partitionsOf(s.events);
            for (const partition of partitions) first.assign(partition);
            const feed = (alerter: WindowedAlerter, from: number, to: number) => {
              for (let i = from; i < to; i++) {
                alerter.process(s.events[i].partition, s.events[i].point, s.events[i].meta);
                if (s.advanceAfter[i]) alerter.advance();
              }
            };
            feed(first, 0, cut);
            const before = first.drain();
            const stored = partitions.map((p) => JSON.stringify(first.snapshot(p)));

            const second = new WindowedAlerter(s.options);
            partitions.forEach((p, i) => second.assign(p, JSON.parse(stored[i]) as PartitionSnapshot));
            feed(second, cut, s.events.length);
            second.advance();
            const after = second.drain();

            expect({
              windows: [...before.windows, ...after.windows],
              late: [...before.late, ...after.late],
              alerts: [...before.alerts, ...after.alerts],
            }).toEqual(uninterrupted);
          },
        ),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
