import fc from 'fast-check';
import { checkThresholds, defaultThresholds, tierOf } from './tiers';

describe('fan-out tier', () => {
  it('uses the issue’s defaults: direct below 1,000, queued up to 100,000, pull from there', () => {
    expect(tierOf(0)).toBe('direct');
    expect(tierOf(999)).toBe('direct');
    expect(tierOf(1_000)).toBe('queued');
    expect(tierOf(99_999)).toBe('queued');
    expect(tierOf(100_000)).toBe('pull');
    expect(tierOf(50_000_000)).toBe('pull');
    expect(defaultThresholds).toEqual({ directBelow: 1_000, celebrityAt: 100_000 });
  });

  it('takes configured thresholds, and a queued tier that is empty when they meet', () => {
    expect([4, 5, 19, 20].map((n) => tierOf(n, { directBelow: 5, celebrityAt: 20 }))).toEqual(['direct', 'queued', 'queued', 'pull']);
    expect([9, 10].map((n) => tierOf(n, { directBelow: 10, celebrityAt: 10 }))).toEqual(['direct', 'pull']);
  });

  it('is monotonic in the follower count', () => {
    const rank = { direct: 0, queued: 1, pull: 2 } as const;
    fc.assert(
      fc.property(fc.nat(1_000), fc.nat(1_000), fc.nat(200_000), fc.nat(200_000), (a, b, x, y) => {
        const thresholds = { directBelow: Math.min(a, b), celebrityAt: Math.max(a, b) };
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        expect(rank[tierOf(lo, thresholds)]).toBeLessThanOrEqual(rank[tierOf(hi, thresholds)]);
      }),
    );
  });

  it('refuses thresholds out of order, naming them', () => {
    expect(() => checkThresholds({ directBelow: 10, celebrityAt: 5 })).toThrow(/directBelow \(10\) must not exceed celebrityAt \(5\)/);
    expect(() => checkThresholds({ directBelow: -1, celebrityAt: 5 })).toThrow(/directBelow/);
  });
});
