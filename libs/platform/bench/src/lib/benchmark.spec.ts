import { defineBenchmark, formatReport, median, percentile, runBenchmark } from './benchmark';

describe('median and percentile', () => {
  it('take the middle of odd and even samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('use the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('runBenchmark', () => {
  it('alternates the order of cases between rounds and reports medians and ratios to the baseline', async () => {
    const order: string[] = [];
    let torndown = false;
    const fast = [300, 100, 200];
    const slow = [100, 40, 60];
    const benchmark = defineBenchmark({
      name: 'demo',
      description: 'a demo',
      rounds: 3,
      headline: { metric: 'ops/s', higherIsBetter: true },
      setup: async () => ({ round: 0 }),
      teardown: async () => void (torndown = true),
      baseline: { name: 'naive', run: async () => (order.push('naive'), { 'ops/s': slow.shift() ?? 0 }) },
      candidates: [{ name: 'batched', run: async () => (order.push('batched'), { 'ops/s': fast.shift() ?? 0 }) }],
    });

    const report = await runBenchmark(benchmark);

    expect(order).toEqual(['naive', 'batched', 'batched', 'naive', 'naive', 'batched']);
    expect(torndown).toBe(true);
    expect(report.cases.map((c) => [c.name, c.medians['ops/s'], c.ratios['ops/s']])).toEqual([
      ['naive', 60, 1],
      ['batched', 200, 200 / 60],
    ]);
    const text = formatReport(report);
    expect(text).toContain('batched: ops/s ×3.33 vs baseline (3.33× better)');
    expect(text).toMatch(/^metric\s+naive \(baseline\)\s+batched$/m);
    expect(text).toMatch(/^ops\/s\s+60\.0\s+200 \(×3\.33\)$/m);
  });

  it('tears down even when a case fails', async () => {
    let torndown = false;
    const benchmark = defineBenchmark({
      name: 'broken',
      description: 'fails',
      headline: { metric: 'x', higherIsBetter: true },
      setup: async () => undefined,
      teardown: async () => void (torndown = true),
      baseline: { name: 'a', run: async () => Promise.reject(new Error('boom')) },
      candidates: [],
    });
    await expect(runBenchmark(benchmark)).rejects.toThrow('boom');
    expect(torndown).toBe(true);
  });
});
