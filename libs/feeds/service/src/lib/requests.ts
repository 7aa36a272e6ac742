import { DEFAULT_DATE_RANGE, boundedIntParam, excerpt, unsafeTextReason, z } from '@qls/config';
import { type FieldIssue, FeedValidationError } from './feed-api.errors';

/** Who is asking: the authenticated user (the token's `sub`). */
export interface Caller {
  readonly userId: string;
}

/** Limits of requests; see {@link feedApiLimits}. */
export interface FeedApiLimits {
  /** Longest post body, in characters (the PostCreated contract allows 5,000). */
  readonly maxPostLength: number;
  /** Feed page size when `limit` is absent, and its maximum. */
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** Longest search query, in characters. */
  readonly maxQueryLength: number;
  /** Widest stats range, in hours. */
  readonly maxStatsHours: number;
}

export const feedApiLimits: FeedApiLimits = {
  maxPostLength: 5_000,
  defaultPageSize: 20,
  maxPageSize: 100,
  maxQueryLength: 200,
  maxStatsHours: 24 * 31,
};

/**
 * Postgres text rejects U+0000, and the driver stores a lone surrogate as
 * U+FFFD (not what was sent): refuse both here, naming the field.
 */
const safeText = (value: string): boolean => unsafeTextReason(value) === undefined;
const SAFE_TEXT = 'must be well-formed Unicode without NUL characters';

/** User ids are JWT subjects; the events allow 1–100 characters. */
export const USER_ID_MAX = 100;
const HANDLE = /^[A-Za-z0-9_]{1,30}$/;

/** Whether `id` can be a user id at all (a path parameter that cannot is answered 404, like an unknown user). */
export function isUserId(id: string): boolean {
  return id.length >= 1 && id.length <= USER_ID_MAX && safeText(id);
}

const uuid = z.guid();
/** Whether `id` can be a post id (any 8-4-4-4-12 hex string Postgres accepts as a uuid). */
export function isPostId(id: string): boolean {
  return uuid.safeParse(id).success;
}

const createUserSchema = z.strictObject({
  handle: z.string().regex(HANDLE, 'expected 1 to 30 letters, digits or "_"'),
});

function createPostSchema(limits: FeedApiLimits) {
  return z.strictObject({
    /** Optional client-chosen id (a UUID): retrying a POST with it never makes a second post. */
    postId: z.uuid({ error: 'expected a UUID' }).optional(),
    body: z
      .string()
      .max(limits.maxPostLength)
      .refine((body) => body.trim().length > 0, 'must not be empty')
      .refine(safeText, SAFE_TEXT),
  });
}

/** A query parameter given once, as a string (Express makes repeats arrays and `a[b]=` objects). */
const param = z.string({ error: 'expected a single value' });

const intParam = (min: number, max: number) => boundedIntParam({ min, max });

function feedQuerySchema(limits: FeedApiLimits) {
  return z.strictObject({
    limit: intParam(1, limits.maxPageSize).default(limits.defaultPageSize),
    cursor: param.min(1).max(400).optional(),
  });
}

function searchQuerySchema(limits: FeedApiLimits) {
  return z.strictObject({
    q: param
      .max(limits.maxQueryLength)
      .refine((q) => q.trim().length > 0, 'is required')
      .refine(safeText, SAFE_TEXT),
    limit: intParam(1, Math.min(limits.maxPageSize, 50)).default(limits.defaultPageSize),
    cursor: param.min(1).max(400).optional(),
  });
}

const instant = param.transform((raw, ctx) => {
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or epoch milliseconds' });
    return z.NEVER;
  }
  if (ms < DEFAULT_DATE_RANGE.min.getTime() || ms > DEFAULT_DATE_RANGE.max.getTime()) {
    ctx.addIssue({
      code: 'custom',
      message: `must be between ${DEFAULT_DATE_RANGE.min.toISOString()} and ${DEFAULT_DATE_RANGE.max.toISOString()}`,
    });
    return z.NEVER;
  }
  return ms;
});

const statsQuerySchema = z.strictObject({ from: instant.optional(), to: instant.optional() });

export interface CreateUserCommand {
  readonly handle: string;
}

export interface CreatePostCommand {
  readonly postId: string | undefined;
  readonly body: string;
}

export interface FeedQuery {
  readonly limit: number;
  readonly cursor: string | undefined;
}

export interface SearchQuery {
  readonly q: string;
  readonly limit: number;
  readonly cursor: string | undefined;
}

export interface StatsQuery {
  /** Epoch ms, inclusive, on an hour boundary. */
  readonly from: number;
  /** Epoch ms, exclusive, on an hour boundary. */
  readonly to: number;
}

const cache = new WeakMap<FeedApiLimits, Record<string, z.ZodType>>();

function schemaFor<S extends z.ZodType>(limits: FeedApiLimits, name: string, make: (limits: FeedApiLimits) => S): S {
  let schemas = cache.get(limits);
  if (schemas === undefined) cache.set(limits, (schemas = {}));
  return (schemas[name] ??= make(limits)) as S;
}

/** The schemas the request parsers validate with, for the API's OpenAPI document. */
export function feedApiRequestSchemas(limits: FeedApiLimits = feedApiLimits) {
  return {
    createUser: createUserSchema,
    createPost: schemaFor(limits, 'post', createPostSchema),
    feedQuery: schemaFor(limits, 'feed', feedQuerySchema),
    searchQuery: schemaFor(limits, 'search', searchQuerySchema),
    statsQuery: statsQuerySchema,
  };
}

/**
 * Parses `input` with `schema`.
 * @throws FeedValidationError naming the first bad field and listing every problem (unknown fields too)
 */
function parse<S extends z.ZodType>(schema: S, input: unknown, what: 'body' | 'query'): z.output<S> {
  const parsed = schema.safeParse(input ?? (what === 'query' ? {} : undefined), { reportInput: true });
  if (parsed.success) return parsed.data;
  const [first, ...rest] = parsed.error.issues.flatMap((issue) => describeIssue(issue, what));
  throw new FeedValidationError(first ? [first, ...rest] : [{ field: undefined, message: 'invalid request' }]);
}

function describeIssue(issue: z.core.$ZodIssue, what: 'body' | 'query'): FieldIssue[] {
  // Names are caller input: echoed as short escaped excerpts only.
  const path = issue.path.map((key) => excerpt(String(key)));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.slice(0, 5).map((key) => {
      const field = [...path, excerpt(key)].join('.');
      return { field, message: `${field}: unknown ${what === 'body' ? 'field' : 'parameter'}` };
    });
  }
  if (path.length === 0) return [{ field: undefined, message: what === 'body' ? 'body: expected a JSON object' : 'invalid query' }];
  const field = path.join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) return [{ field, message: `${field} is required` }];
  return [{ field, message: `${field}: ${issue.message}` }];
}

/** `POST /users` body: `{ handle }`. */
export function parseCreateUser(body: unknown): CreateUserCommand {
  return parse(createUserSchema, body, 'body');
}

/** `POST /posts` body: `{ body, postId? }`. */
export function parseCreatePost(body: unknown, limits: FeedApiLimits = feedApiLimits): CreatePostCommand {
  const parsed = parse(schemaFor(limits, 'post', createPostSchema), body, 'body');
  return { postId: parsed.postId, body: parsed.body };
}

/** `GET /feed` query: `limit` (1–max, default 20), `cursor` (from the previous page). */
export function parseFeedQuery(query: unknown, limits: FeedApiLimits = feedApiLimits): FeedQuery {
  const parsed = parse(schemaFor(limits, 'feed', feedQuerySchema), query, 'query');
  return { limit: parsed.limit, cursor: parsed.cursor };
}

/** `GET /search` query: `q` (web search syntax), `limit`, `cursor`. */
export function parseSearchQuery(query: unknown, limits: FeedApiLimits = feedApiLimits): SearchQuery {
  const parsed = parse(schemaFor(limits, 'search', searchQuerySchema), query, 'query');
  return { q: parsed.q, limit: parsed.limit, cursor: parsed.cursor };
}

const HOUR_MS = 3_600_000;

/**
 * `GET /users/:id/stats` query: `from` / `to` (ISO 8601 or epoch ms), widened
 * to whole hours; by default the last 24 hours up to the current hour's end.
 */
export function parseStatsQuery(query: unknown, now = Date.now(), limits: FeedApiLimits = feedApiLimits): StatsQuery {
  const parsed = parse(statsQuerySchema, query, 'query');
  const to = Math.ceil((parsed.to ?? now + 1) / HOUR_MS) * HOUR_MS;
  const from = Math.floor((parsed.from ?? to - 24 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  if (from >= to) throw FeedValidationError.of('from', 'must be before to');
  if (to - from > limits.maxStatsHours * HOUR_MS)
    throw FeedValidationError.of('from', `the range must be at most ${limits.maxStatsHours} hours`);
  return { from, to };
}
