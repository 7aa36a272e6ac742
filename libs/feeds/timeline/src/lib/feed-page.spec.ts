import fc from 'fast-check';
import {
  type FeedCursor,
  type FeedEntry,
  InvalidCursorError,
  compareEntries,
  decodeCursor,
  encodeCursor,
  entriesOfReply,
  mergePage,
} from './feed-page';

/** What FeedCache.read asks Redis for, per sorted set, emulated on an array. */
function fetchCandidates(set: readonly FeedEntry[], limit: number, cursor: FeedCursor | undefined): FeedEntry[] {
  const sorted = [...set].sort(compareEntries);
  if (!cursor) return sorted.slice(0, limit + 1);
  return [...sorted.filter((e) => e.score < cursor.score).slice(0, limit + 1), ...sorted.filter((e) => e.score === cursor.score)];
}

/** Sorted sets: unique post ids per set; a post id has the same score wherever it appears. */
const sets = fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 6 })), { maxLength: 80 }).chain((posts) => {
  const byId = new Map(posts.map(([id, score]) => [`p${String(id).padStart(3, '0')}`, score]));
  const entries = [...byId].map(([postId, score]) => ({ postId, score }));
  return fc.array(fc.subarray(entries), { minLength: 1, maxLength: 5 });
});

describe('feed pages', () => {
  it('pages through merged sets in feed order, each post once, whatever the page size', () => {
    fc.assert(
      fc.property(sets, fc.integer({ min: 1, max: 12 }), (lists, limit) => {
        const expected = [...new Map(lists.flat().map((e) => [e.postId, e])).values()].sort(compareEntries);
        const seen: FeedEntry[] = [];
        let cursor: string | null | undefined;
        for (let page = 0; page < 200; page++) {
          const decoded = cursor ? decodeCursor(cursor) : undefined;
          const result = mergePage(
            lists.map((set) => fetchCandidates(set, limit, decoded)),
            limit,
            decoded,
          );
          // A page is full unless it is the last one.
          expect(result.items.length).toBe(result.nextCursor === null ? Math.min(limit, result.items.length) : limit);
          seen.push(...result.items);
          cursor = result.nextCursor;
          if (cursor === null) break;
        }
        expect(seen).toEqual(expected);
      }),
    );
  });

  it('orders by score, then post id, both descending', () => {
    const entries = [
      { postId: 'a', score: 1 },
      { postId: 'c', score: 2 },
      { postId: 'b', score: 2 },
    ];
    expect([...entries].sort(compareEntries).map((e) => e.postId)).toEqual(['c', 'b', 'a']);
  });

  it('keeps a post read from two sets once', () => {
    const page = mergePage(
      [
        [{ postId: 'x', score: 5 }],
        [
          { postId: 'x', score: 5 },
          { postId: 'y', score: 4 },
        ],
      ],
      10,
      undefined,
    );
    expect(page).toEqual({
      items: [
        { postId: 'x', score: 5 },
        { postId: 'y', score: 4 },
      ],
      nextCursor: null,
    });
  });

  it('round-trips cursors exactly, fractional scores included', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.uuid(), (score, postId) => {
        expect(decodeCursor(encodeCursor({ score, postId }))).toEqual({ score: Object.is(score, -0) ? 0 : score, postId });
      }),
    );
  });

  it('refuses a cursor it did not make', () => {
    for (const bad of [
      '',
      'not base64!',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      'x'.repeat(500),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(InvalidCursorError);
    }
  });

  it('reads WITHSCORES replies', () => {
    expect(entriesOfReply(['a', '1700000000000', 'b', '1.5'])).toEqual([
      { postId: 'a', score: 1_700_000_000_000 },
      { postId: 'b', score: 1.5 },
    ]);
  });
});
