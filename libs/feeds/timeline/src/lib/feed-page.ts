/** One post in a feed: its id and its ranking score (higher first). */
export interface FeedEntry {
  readonly postId: string;
  readonly score: number;
}

/** Position after which the next page starts: the last entry of the previous page. */
export interface FeedCursor {
  readonly score: number;
  readonly postId: string;
}

/** A cursor that this library did not produce (or that was tampered with); the API answers 400. */
export class InvalidCursorError extends Error {
  readonly code = 'FEED.INVALID_CURSOR';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** Feed order: score descending, then post id descending (the order of ZREVRANGE within equal scores). */
export function compareEntries(a: FeedEntry, b: FeedEntry): number {
  if (a.score !== b.score) return b.score - a.score;
  return a.postId < b.postId ? 1 : a.postId > b.postId ? -1 : 0;
}

/** True when `entry` comes strictly after `cursor` in feed order. */
export function isAfter(entry: FeedEntry, cursor: FeedCursor): boolean {
  return entry.score < cursor.score || (entry.score === cursor.score && entry.postId < cursor.postId);
}

/** Opaque, URL-safe cursor: base64url of `[score, postId]` (JSON keeps the double exact). */
export function encodeCursor(cursor: FeedCursor): string {
  return Buffer.from(JSON.stringify([cursor.score, cursor.postId]), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): FeedCursor {
  if (raw.length === 0 || raw.length > 400 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw new InvalidCursorError('cursor: malformed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor: malformed');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 200
  ) {
    throw new InvalidCursorError('cursor: malformed');
  }
  return { score: parsed[0], postId: parsed[1] };
}

/** Redis `WITHSCORES` reply (`[member, score, member, score, …]`) as entries. */
export function entriesOfReply(reply: readonly string[]): FeedEntry[] {
  const entries: FeedEntry[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) entries.push({ postId: reply[i] as string, score: Number(reply[i + 1]) });
  return entries;
}

/**
 * Merges the candidates read from each sorted set (each already limited to
 * the entries after the cursor, at most `limit + 1` of them below the
 * cursor's score) into one page: feed order, one entry per post id (a post can
 * be both pushed and in a pulled author's recent posts), entries at or before
 * the cursor dropped. `nextCursor` is set when more entries exist: a truncated
 * set contributes `limit + 1` entries, so the merge then has more than `limit`.
 */
export function mergePage(
  candidates: Iterable<readonly FeedEntry[]>,
  limit: number,
  cursor: FeedCursor | undefined,
): { items: FeedEntry[]; nextCursor: string | null } {
  const byPost = new Map<string, FeedEntry>();
  for (const list of candidates) {
    for (const entry of list) {
      if (cursor && !isAfter(entry, cursor)) continue;
      const seen = byPost.get(entry.postId);
      if (!seen || compareEntries(entry, seen) < 0) byPost.set(entry.postId, entry);
    }
  }
  const merged = [...byPost.values()].sort(compareEntries);
  const items = merged.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: merged.length > limit && last ? encodeCursor(last) : null };
}
