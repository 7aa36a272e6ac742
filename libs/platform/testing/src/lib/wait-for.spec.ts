import { uniqueName, waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first truthy value the probe produces', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? `done after ${calls}` : undefined), { intervalMs: 1 })).resolves.toBe('done after 3');
  });

  it('keeps polling while the probe throws', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        if (++calls < 3) throw new Error('not yet');
        return calls;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe(3);
  });

  it('names the condition and the last error when it times out', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 20, intervalMs: 5, description: 'the broker' },
      ),
    ).rejects.toThrow('timed out after 20 ms waiting for the broker; last error: connection refused');
  });

  it('asks a description function at the timeout, so the error tells how far things got', async () => {
    let seen = 0;
    await expect(
      waitFor(() => ++seen >= 1_000_000, { timeoutMs: 20, intervalMs: 5, description: async () => `a million (saw ${seen})` }),
    ).rejects.toThrow(/waiting for a million \(saw [1-9]\d*\)$/);
  });
});

describe('uniqueName', () => {
  it('prefixes and never repeats', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('topic')));
    expect(names.size).toBe(1000);
    expect([...names].every((n) => n.startsWith('topic-'))).toBe(true);
  });
});
