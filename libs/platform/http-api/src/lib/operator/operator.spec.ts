import { LocalTokenBucket } from './local-token-bucket';
import { operatorScopesOf } from './operator';

describe('operatorScopesOf', () => {
  it("reads OAuth's space-separated scope or an scp array, keeping operator scopes only", () => {
    expect([...operatorScopesOf({ scope: 'openid ops:read profile' })]).toEqual(['ops:read']);
    expect([...operatorScopesOf({ scp: ['ops:write', 'ops:read', 42] })]).toEqual(['ops:read', 'ops:write']);
  });

  it('grants nothing for a missing, malformed or look-alike scope', () => {
    expect(operatorScopesOf({}).size).toBe(0);
    expect(operatorScopesOf({ scope: { 'ops:write': true } }).size).toBe(0);
    expect(operatorScopesOf({ scope: 'ops:writer ops:*' }).size).toBe(0);
  });
});

describe('LocalTokenBucket', () => {
  it("spends each subject's burst, refuses with the seconds until a token is back, and refills at the rate", async () => {
    let now = 0;
    const bucket = new LocalTokenBucket({ ratePerSecond: 0.5, burst: 2 }, () => now);

    const first = [await bucket.take('ada'), await bucket.take('ada'), await bucket.take('ada')];
    const other = await bucket.take('bob');
    now = 2_000;
    const later = await bucket.take('ada');

    expect(first.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(first[2]?.retryAfterSeconds).toBe(2);
    expect(other.allowed).toBe(true);
    expect(later.allowed).toBe(true);
  });

  it('refuses settings it cannot honour', () => {
    expect(() => new LocalTokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new LocalTokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
