import fc from 'fast-check';
import { LogSketch, quantileRank, SKETCH_RELATIVE_ACCURACY } from './sketch';

const exactQuantile = (values: readonly number[], q: number) => [...values].sort((a, b) => a - b)[quantileRank(q, values.length)];
const withinAccuracy = (estimate: number | undefined, exact: number) =>
  estimate !== undefined && Math.abs(estimate - exact) <= SKETCH_RELATIVE_ACCURACY * Math.abs(exact) * (1 + 1e-9);

/** Positive, negative and zero values over many orders of magnitude. */
const values = fc.array(
  fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 1e9, noNaN: true }), fc.double({ min: -1e9, max: -1e-6, noNaN: true })),
  { minLength: 1, maxLength: 300 },
);
const q = fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 1);

describe('LogSketch', () => {
  it('answers every quantile within the relative accuracy of the exact value at rank ⌊q·(n − 1)⌋', () => {
    fc.assert(
      fc.property(values, q, (vs, quantile) => {
        const sketch = new LogSketch();
        for (const v of vs) sketch.add(v);
        expect(withinAccuracy(sketch.quantile(quantile), exactQuantile(vs, quantile))).toBe(true);
      }),
    );
  });

  it('merges into the sketch of both inputs, and survives a JSON round trip unchanged', () => {
    fc.assert(
      fc.property(values, values, (left, right) => {
        const [a, b, both] = [new LogSketch(), new LogSketch(), new LogSketch()];
        left.forEach((v) => (a.add(v), both.add(v)));
        right.forEach((v) => (b.add(v), both.add(v)));
        a.merge(b);
        const restored = LogSketch.fromJSON(JSON.parse(JSON.stringify(a)) as ReturnType<LogSketch['toJSON']>);
        for (const quantile of [0, 0.5, 0.99, 1]) {
          expect(a.quantile(quantile)).toBe(both.quantile(quantile));
          expect(restored.quantile(quantile)).toBe(both.quantile(quantile));
        }
        expect(restored.count).toBe(left.length + right.length);
      }),
    );
  });

  it('uses the lower nearest rank, answers nothing when empty and refuses values without a bucket', () => {
    expect(quantileRank(0.5, 2)).toBe(0);
    expect(quantileRank(0.99, 100)).toBe(98);
    expect(quantileRank(0.29, 101)).toBe(29);
    expect(new LogSketch().quantile(0.5)).toBeUndefined();
    expect(() => new LogSketch().add(Number.NaN)).toThrow(RangeError);
    expect(() => new LogSketch().add(Infinity)).toThrow(RangeError);
  });
});
