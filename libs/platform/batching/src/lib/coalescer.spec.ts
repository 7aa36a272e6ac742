import { Coalescer } from './coalescer';

/** A batch function that records its batches and can be held open. */
function recorder<I, O>(map: (input: I) => O) {
  const batches: I[][] = [];
  const gates: (() => void)[] = [];
  let holding = false;
  return {
    batches,
    hold: () => (holding = true),
    releaseAll: () => {
      holding = false;
      gates.splice(0).forEach((open) => open());
    },
    run: async (inputs: readonly I[]): Promise<O[]> => {
      batches.push([...inputs]);
      if (holding) await new Promise<void>((resolve) => gates.push(resolve));
      return inputs.map(map);
    },
  };
}

describe('Coalescer', () => {
  it('runs the calls of one event-loop turn as one batch and gives each caller its own result', async () => {
    const batch = recorder((n: number) => n * 10);
    const coalescer = new Coalescer({ run: batch.run });
    const results = await Promise.all([1, 2, 3].map((n) => coalescer.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(batch.batches).toEqual([[1, 2, 3]]);
  });

  it('gathers the calls that arrive while a batch runs into the next one (no timer)', async () => {
    const batch = recorder((n: number) => n);
    const coalescer = new Coalescer({ run: batch.run });
    batch.hold();
    const first = coalescer.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => coalescer.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batch.batches).toEqual([[1]]);
    expect(coalescer.stats).toEqual({ waiting: 3, inFlight: 1 });
    batch.releaseAll();
    await first;
    batch.releaseAll();
    expect(await Promise.all(later)).toEqual([2, 3, 4]);
    expect(batch.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits at maxBatch and runs up to maxInFlight batches at once', async () => {
    const batch = recorder((n: number) => n);
    const coalescer = new Coalescer({ run: batch.run, maxBatch: 2, maxInFlight: 2 });
    batch.hold();
    const all = [1, 2, 3, 4, 5].map((n) => coalescer.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batch.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    batch.releaseAll();
    await Promise.all(all.slice(0, 4));
    batch.releaseAll();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5]);
    expect(batch.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every caller of a failed batch and keeps serving later ones', async () => {
    let fail = true;
    const coalescer = new Coalescer<number, number>({
      run: async (inputs) => {
        if (fail) throw new Error('database down');
        return inputs;
      },
    });
    const failed = await Promise.allSettled([coalescer.submit(1), coalescer.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await coalescer.submit(3)).toBe(3);
  });

  it('rejects a batch whose function returned the wrong number of results', async () => {
    const coalescer = new Coalescer<number, number>({ run: async () => [1] });
    await expect(Promise.all([coalescer.submit(1), coalescer.submit(2)])).rejects.toThrow('a batch of 2 inputs returned 1 results');
  });
});
