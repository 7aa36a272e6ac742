import { bigintId, excerpt, boundedDate, boundedIntParam, identifier, jsonProblem, safeJsonObject, safeString, strictDate } from './input';

/** `depth` nested objects: `{"a":{"a":…}}`, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('input building blocks', () => {
  it.each([
    ['a lone high surrogate', 'a\ud800', /lone surrogates/],
    ['a lone low surrogate', '\udc00b', /lone surrogates/],
    ['NUL', 'a\u0000b', /NUL/],
  ])('refuses a string with %s', (_what, value, message) => {
    const parsed = safeString({ max: 10 }).safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });

  it('accepts well-formed strings, astral characters included', () => {
    expect(safeString({ max: 10 }).parse('a😀b')).toBe('a😀b');
  });

  it.each([
    ['empty', '', /empty/],
    ['too long', 'x'.repeat(256), /at most 255/],
    ['a lone surrogate', 'a\ud800', /lone surrogates/],
    ['NUL', 'a\u0000', /control/],
    ['a newline', 'a\nb', /control/],
  ])('refuses an identifier that is %s', (_what, value, message) => {
    expect(identifier().safeParse(value).error?.issues[0]?.message).toMatch(message);
  });

  it('finds NUL, lone surrogates (values and keys) and excess depth in JSON without recursing', () => {
    const limits = { maxBytes: 1_000_000, maxDepth: 32 };
    expect(jsonProblem({ a: [1, { b: 'x\ud800' }] }, limits)).toEqual({ path: ['a', 1, 'b'], message: expect.stringMatching(/lone/) });
    expect(jsonProblem({ a: { ['k\u0000']: 1 } }, limits)).toEqual({ path: ['a'], message: expect.stringMatching(/NUL/) });
    expect(jsonProblem(nested(100_000), limits)?.message).toMatch(/at most 32 levels/);
    expect(jsonProblem(nested(31), limits)).toBeUndefined();
    expect(jsonProblem({ text: 'é'.repeat(600) }, { maxBytes: 1_000, maxDepth: 4 })?.message).toMatch(
      /at most 1000 bytes of JSON, got 1211/,
    );
  });

  it('names the path of the problem inside a JSON object field', () => {
    const parsed = safeJsonObject({ maxBytes: 100, maxDepth: 4 }).safeParse({ k: ['\ud800'] });
    expect(parsed.error?.issues).toMatchObject([{ path: ['k', 0], message: expect.stringMatching(/lone/) }]);
  });

  it.each(['2026-13-45T25:61:61Z', '0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01', '1e999', '+275760-09-13T00:00:00Z'])(
    'refuses the impossible or out-of-range date %s',
    (text) => {
      expect(boundedDate().safeParse(text).success).toBe(false);
    },
  );

  it('answers a date in range as a Date, and checks bounds relative to now', () => {
    expect(boundedDate().parse('2026-11-27T10:00:00.5+01:00')).toEqual(new Date('2026-11-27T09:00:00.500Z'));
    expect(strictDate('2024-02-29T00:00:00Z')).toEqual(new Date('2024-02-29T00:00:00Z'));
    const notFuture = boundedDate({ max: () => new Date() });
    expect(notFuture.safeParse(new Date(Date.now() + 60_000).toISOString()).success).toBe(false);
  });

  it.each(['1e3', '9007199254740993', '1.5', '', '-1', '101'])('refuses the integer parameter %p outside 0–100', (text) => {
    expect(boundedIntParam({ min: 0, max: 100 }).safeParse(text).success).toBe(false);
  });

  it('accepts bigint ids up to 2^63 − 1, as strings', () => {
    expect(bigintId.parse('9223372036854775807')).toBe('9223372036854775807');
    for (const id of ['9223372036854775808', '99999999999999999999', '0', '-1', '1.0', 12])
      expect(bigintId.safeParse(id).success).toBe(false);
  });

  it('excerpts caller input short and escaped for error messages', () => {
    expect(excerpt('order-42')).toBe('order-42');
    expect(excerpt(`<b>\u202e"x\ud800\u0000${'y'.repeat(100)}`, 12)).toBe('\\u003cb\\u003e\\u202e\\u0022x\\ud800\\u0000yyyy…');
  });
});
