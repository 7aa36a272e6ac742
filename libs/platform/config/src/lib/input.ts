import { z } from 'zod';

/**
 * Building blocks for validating what callers send (bodies, query strings,
 * path parameters, token claims): anything Postgres, Kafka or `Date` would
 * refuse is refused here first, with a message naming the rule, so an API
 * answers 400 naming the field instead of failing in the database (500), and
 * a request never reaches a batch it could fail (docs/contracts.md, "Hostile
 * input").
 *
 * - strings: well-formed UTF-16 (no lone surrogates — the driver would store
 *   U+FFFD instead, so what is stored differs from what was checked), no NUL
 *   (Postgres text and jsonb refuse it), a length limit;
 * - JSON values: the same for every string and key, a depth and a size limit,
 *   checked without recursion (10,000 levels must not overflow the stack);
 * - numbers and dates: explicit ranges (Postgres `timestamptz` and Kafka
 *   timestamps have narrower ranges than `Date`; `bigint` narrower than a
 *   string of digits).
 */

/** Longest identifier (token subject, ids, keys) unless a schema says otherwise. */
export const MAX_IDENTIFIER_LENGTH = 255;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (String#isWellFormed, ES2024). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `value` is not safe to store as text, or undefined when it is. */
export function unsafeTextReason(value: string): string | undefined {
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (no lone surrogates)';
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  return undefined;
}

/** A string Postgres stores exactly as given: well-formed, no NUL, `min`–`max` characters. */
export function safeString({ min = 0, max }: { min?: number; max: number }) {
  return z
    .string()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      const reason = unsafeTextReason(value);
      if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
    });
}

/** Control characters (C0, DEL, C1): never part of an identifier. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `value` is not a usable identifier, or undefined when it is. */
export function unsafeIdentifierReason(value: string, max = MAX_IDENTIFIER_LENGTH): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (no lone surrogates)';
  if (CONTROL.test(value)) return 'must not contain control characters';
  return undefined;
}

/** An identifier (user id, key, name): 1–`max` characters, well-formed, no control characters. */
export function identifier(max = MAX_IDENTIFIER_LENGTH) {
  return z.string().superRefine((value, ctx) => {
    const reason = unsafeIdentifierReason(value, max);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
  });
}

export interface JsonLimits {
  /** Most bytes of its UTF-8 JSON text. */
  readonly maxBytes: number;
  /** Most levels of nested objects and arrays (the value itself is level 1). */
  readonly maxDepth: number;
}

/** One problem found in a JSON value: where (`a.b.0`, relative to the value) and why. */
export interface JsonProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * The first problem that makes `value` unsafe to store as `jsonb`, or
 * undefined: a string or key that is not well-formed or holds NUL, nesting
 * deeper than `maxDepth`, more than `maxBytes` of JSON, or a value JSON cannot
 * carry (a non-finite number, undefined, a function). Walks the value with an
 * explicit stack, and stops at the first problem, so hostile input costs at
 * most the size the body limit allowed.
 */
export function jsonProblem(value: unknown, limits: JsonLimits): JsonProblem | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value: current, path } = item;
    if (typeof current === 'string') {
      const reason = unsafeTextReason(current);
      if (reason !== undefined) return { path, message: reason };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, message: 'must be a finite number' };
    } else if (typeof current === 'object' && current !== null) {
      if (path.length >= limits.maxDepth) return { path: [], message: `must be nested at most ${limits.maxDepth} levels deep` };
      if (Array.isArray(current)) {
        for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
      } else {
        for (const [key, child] of Object.entries(current).reverse()) {
          const reason = unsafeTextReason(key);
          if (reason !== undefined) return { path, message: `keys ${reason}` };
          stack.push({ value: child, path: [...path, key] });
        }
      }
    } else if (typeof current !== 'boolean' && current !== null) {
      return { path, message: 'must be a JSON value' };
    }
  }
  // Shallow now, so stringifying cannot overflow the stack.
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > limits.maxBytes) return { path: [], message: `must be at most ${limits.maxBytes} bytes of JSON, got ${bytes}` };
  return undefined;
}

/** A JSON object safe to store as `jsonb` (see {@link jsonProblem}). */
export function safeJsonObject(limits: JsonLimits) {
  return z.record(z.string(), z.unknown(), { error: 'expected a JSON object' }).superRefine((value, ctx) => {
    const problem = jsonProblem(value, limits);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem.message, path: [...problem.path] });
  });
}

/** An integer in [min, max] (both within ±2^53 − 1), from a JSON number; one message for every way it is wrong. */
export function boundedInt({ min, max }: { min: number; max: number }) {
  const low = Math.max(min, Number.MIN_SAFE_INTEGER);
  const high = Math.min(max, Number.MAX_SAFE_INTEGER);
  const message = `expected an integer from ${low} to ${high}`;
  return z.number({ error: message }).int(message).min(low, message).max(high, message);
}

/**
 * An integer in [min, max] from a query string or path parameter given once:
 * decimal digits only (no exponent, no `1e999`), then the range. Answers a number.
 */
export function boundedIntParam({ min, max }: { min: number; max: number }) {
  return z
    .string({ error: 'expected a single value' })
    .regex(/^-?\d{1,16}$/, `expected an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(boundedInt({ min, max }));
}

/** Largest Postgres `bigint`. */
const MAX_BIGINT = 9223372036854775807n;

/** A positive Postgres `bigint` id as a string of digits (JSON numbers lose precision beyond 2^53). */
export const bigintId = z
  .string({ error: 'expected a string of digits' })
  .regex(/^[1-9]\d{0,18}$/, 'expected a positive integer id')
  .refine((id) => !/^\d{1,19}$/.test(id) || BigInt(id) <= MAX_BIGINT, `must be at most ${MAX_BIGINT}`);

/** The range {@link boundedDate} allows unless told otherwise: what Postgres, Kafka and JavaScript all can hold. */
export const DEFAULT_DATE_RANGE = { min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z') } as const;

/** Why `date` (undefined: did not parse) is not a date-time within `range`, or undefined when it is. */
export function dateRangeProblem(date: Date | undefined, range: DateRange = {}): string | undefined {
  if (date === undefined) return 'expected an ISO 8601 date-time that exists';
  const at = (bound: Date | (() => Date)) => (typeof bound === 'function' ? bound() : bound);
  const min = at(range.min ?? DEFAULT_DATE_RANGE.min);
  const max = at(range.max ?? DEFAULT_DATE_RANGE.max);
  if (date < min || date > max) return `must be between ${min.toISOString()} and ${max.toISOString()}`;
  return undefined;
}

/** Bounds of a date; a function for a bound relative to now. */
export interface DateRange {
  readonly min?: Date | (() => Date);
  readonly max?: Date | (() => Date);
}

/**
 * An ISO 8601 date-time with an offset (`2026-11-27T10:00:00Z`) that names a
 * real instant (no month 13, no second 61) within [min, max]. Answers a Date.
 * `min` and `max` may be functions, for ranges relative to now.
 */
export function boundedDate(range: DateRange = {}) {
  return z
    .string({ error: 'expected an ISO 8601 date-time' })
    .max(40, 'expected an ISO 8601 date-time')
    .superRefine((value, ctx) => {
      const problem = dateRangeProblem(strictDate(value), range);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((value) => strictDate(value) as Date);
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** `text` as a Date when it is an ISO 8601 date-time whose every field is in range; `Date.parse` would roll `02-30` over. */
export function strictDate(text: string): Date | undefined {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const offset = match[8] as string;
  if (offset !== 'Z' && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4, 6)) > 59)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A short, escaped excerpt of caller input for an error message: at most
 * `max` characters of it, everything but printable ASCII (and `<`, `>`, `&`,
 * quotes, backslash) as `\uXXXX`, with `…` when cut. An error never echoes a
 * 10 KB id, markup or bidirectional overrides back.
 */
export function excerpt(text: string, max = 40): string {
  let out = '';
  for (let i = 0; i < Math.min(text.length, max); i++) {
    const char = text[i] as string;
    const code = text.charCodeAt(i);
    out += code >= 0x20 && code <= 0x7e && !`"'<>&\\`.includes(char) ? char : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return text.length > max ? `${out}…` : out;
}
