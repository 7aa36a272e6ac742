import { FeedValidationError } from './feed-api.errors';
import { feedApiLimits, parseCreatePost, parseCreateUser, parseFeedQuery, parseSearchQuery, parseStatsQuery } from './requests';

function rejectionOf(parse: () => unknown): FeedValidationError {
  try {
    parse();
  } catch (error) {
    if (error instanceof FeedValidationError) return error;
    throw error;
  }
  throw new Error('expected a FeedValidationError');
}

describe('request parsing', () => {
  it('accepts a post and keeps a client-chosen postId', () => {
    const postId = '0b9a3c52-6d3e-4f4c-9a55-2d8f9f1f6f10';
    expect(parseCreatePost({ body: 'hello' })).toEqual({ body: 'hello', postId: undefined });
    expect(parseCreatePost({ body: 'hello', postId })).toEqual({ body: 'hello', postId });
  });

  it('names the field of a bad post: missing, blank, too long, NUL, unknown', () => {
    expect(rejectionOf(() => parseCreatePost({})).message).toBe('body is required');
    expect(rejectionOf(() => parseCreatePost({ body: '  ' })).message).toBe('body: must not be empty');
    expect(rejectionOf(() => parseCreatePost({ body: 'x'.repeat(feedApiLimits.maxPostLength + 1) })).field).toBe('body');
    expect(rejectionOf(() => parseCreatePost({ body: 'a\u0000b' })).field).toBe('body');
    expect(rejectionOf(() => parseCreatePost({ body: 'hi', visibility: 'public' })).message).toBe('visibility: unknown field');
    expect(rejectionOf(() => parseCreatePost({ body: 'hi', postId: 'p-1' })).field).toBe('postId');
    expect(rejectionOf(() => parseCreatePost([{ body: 'hi' }])).message).toBe('body: expected a JSON object');
  });

  it('accepts handles of letters, digits and underscores only', () => {
    expect(parseCreateUser({ handle: 'ada_99' })).toEqual({ handle: 'ada_99' });
    expect(rejectionOf(() => parseCreateUser({ handle: 'ada lovelace' })).field).toBe('handle');
    expect(rejectionOf(() => parseCreateUser({ handle: 'a'.repeat(31) })).field).toBe('handle');
  });

  it('reads the feed query with defaults and names a bad or unknown parameter', () => {
    expect(parseFeedQuery({})).toEqual({ limit: 20, cursor: undefined });
    expect(parseFeedQuery({ limit: '5', cursor: 'abc' })).toEqual({ limit: 5, cursor: 'abc' });
    expect(rejectionOf(() => parseFeedQuery({ limit: '0' })).message).toBe('limit: expected an integer from 1 to 100');
    expect(rejectionOf(() => parseFeedQuery({ limit: '101' })).field).toBe('limit');
    expect(rejectionOf(() => parseFeedQuery({ limit: ['1', '2'] })).message).toBe('limit: expected a single value');
    expect(rejectionOf(() => parseFeedQuery({ page: '2' })).message).toBe('page: unknown parameter');
  });

  it('requires a non-blank search query', () => {
    expect(parseSearchQuery({ q: 'kafka "consumer group"' })).toEqual({ q: 'kafka "consumer group"', limit: 20, cursor: undefined });
    expect(rejectionOf(() => parseSearchQuery({})).message).toBe('q is required');
    expect(rejectionOf(() => parseSearchQuery({ q: ' ' })).field).toBe('q');
  });

  it('widens a stats range to whole hours, defaults to the last 24 and refuses a reversed or too wide one', () => {
    const now = Date.UTC(2026, 0, 10, 12, 30);
    expect(parseStatsQuery({}, now)).toEqual({ from: Date.UTC(2026, 0, 9, 13), to: Date.UTC(2026, 0, 10, 13) });
    expect(parseStatsQuery({ from: '2026-01-10T08:15:00Z', to: String(Date.UTC(2026, 0, 10, 9, 1)) }, now)).toEqual({
      from: Date.UTC(2026, 0, 10, 8),
      to: Date.UTC(2026, 0, 10, 10),
    });
    expect(rejectionOf(() => parseStatsQuery({ from: 'yesterday' }, now)).field).toBe('from');
    expect(rejectionOf(() => parseStatsQuery({ from: '2026-01-10T10:00:00Z', to: '2026-01-10T09:00:00Z' }, now)).field).toBe('from');
    expect(rejectionOf(() => parseStatsQuery({ from: '2025-01-01T00:00:00Z' }, now)).message).toMatch(/at most 744 hours/);
  });
});
