import type { Pool } from 'pg';
import { dateRangeProblem, strictDate } from '@qls/config';
import { FeedValidationError } from './feed-api.errors';
import { type FeedApiLimits, feedApiLimits, parseSearchQuery } from './requests';

/** A post matching a search, from the `post_search` projection. */
export interface SearchHit {
  readonly id: string;
  readonly authorId: string;
  /** Null if the author is unknown to this database (the projection comes from the log). */
  readonly authorHandle: string | null;
  readonly body: string;
  readonly createdAt: string;
  /** ts_rank of the match: higher is more relevant. */
  readonly rank: number;
}

export interface SearchPage {
  readonly items: SearchHit[];
  readonly nextCursor: string | null;
}

/** Keyset position: the last hit's rank (float4 as text: exact), creation time and id. */
type SearchCursor = readonly [rank: string, createdAt: string, postId: string];

function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(raw: string): SearchCursor {
  const invalid = () => FeedValidationError.of('cursor', 'not a cursor of this search (pass nextCursor as is)');
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !/^-?\d+(\.\d+)?(e-?\d+)?$/.test(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(parsed[2]) ||
    // The shape is not enough: Postgres refuses a real out of range (1e999, 1e-999) and an impossible time (month 13, year 0).
    !isReal(parsed[0]) ||
    dateRangeProblem(strictDate(parsed[1])) !== undefined
  ) {
    throw invalid();
  }
  return parsed as unknown as SearchCursor;
}

/** Whether `text` is a number Postgres reads as a `real` (float4): finite, zero or of magnitude 1.2e-38 to 3.4e38. */
function isReal(text: string): boolean {
  const value = Math.abs(Number(text));
  // 1e-999 is 0 to JavaScript but an underflow to Postgres: zero only when every digit is.
  if (value === 0) return /^-?0+(\.0+)?(e-?\d+)?$/.test(text);
  return value >= 1.175494e-38 && value <= 3.402823e38;
}

interface HitRow {
  post_id: string;
  author_id: string;
  handle: string | null;
  body: string;
  created_at: Date;
  created_at_text: string;
  rank: number;
  rank_text: string;
}

/**
 * `GET /search?q=`: live posts matching `q` in web-search syntax (`"exact
 * phrase"`, `or`, `-excluded`; websearch_to_tsquery never fails on user
 * input), from the `post_search` projection the indexer's `search` group
 * keeps (so it lags the log by that group's lag), most relevant first
 * (ts_rank, then newest), keyset-paginated: a page costs the same however
 * deep it is, and posts indexed meanwhile do not shift it.
 *
 * @throws FeedValidationError (q missing or too long, bad cursor, unknown parameter)
 */
export async function searchPosts(pool: Pool, query: unknown, limits: FeedApiLimits = feedApiLimits): Promise<SearchPage> {
  const { q, limit, cursor } = parseSearchQuery(query, limits);
  const after = cursor === undefined ? null : decodeCursor(cursor);
  const { rows } = await pool.query<HitRow>(
    `SELECT hit.*, u.handle
       FROM (SELECT s.post_id, s.author_id, s.body, s.created_at, r.rank, r.rank::text AS rank_text,
                    to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_text
               FROM post_search s
               CROSS JOIN websearch_to_tsquery('simple', $1) q
               CROSS JOIN LATERAL (SELECT ts_rank(s.document, q) AS rank) r
              WHERE s.document @@ q
                AND ($2::real IS NULL OR (r.rank, s.created_at, s.post_id) < ($2::real, $3::timestamptz, $4::uuid))
              ORDER BY r.rank DESC, s.created_at DESC, s.post_id DESC
              LIMIT $5) hit
       LEFT JOIN feed_users u ON u.id = hit.author_id
      ORDER BY hit.rank DESC, hit.created_at DESC, hit.post_id DESC`,
    [q, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => ({
      id: row.post_id,
      authorId: row.author_id,
      authorHandle: row.handle,
      body: row.body,
      createdAt: row.created_at.toISOString(),
      rank: row.rank,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.rank_text, last.created_at_text, last.post_id]) : null,
  };
}
