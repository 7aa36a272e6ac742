import { BadRequestException } from '@nestjs/common';
import { AppError } from '@qls/messaging';
import { AuthenticationError } from './auth/jwt.verifier';
import { isTransientDependencyError } from './transient-errors';

/** The body of every error answer: `{ error: { code, message, field? } }`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

/** An app's error codes (`AppError.code`) and the HTTP status each is answered with. */
export type StatusByCode = Readonly<Record<string, number>>;

/** The codes of this library's own errors, answered the same by every API. */
const sharedStatusByCode: StatusByCode = {
  'AUTH.UNAUTHENTICATED': 401,
  'REQUEST.DUPLICATE_HEADER': 400,
};

/** Longest error message answered; the rest is cut (messages quote caller input only as short excerpts, this bounds the list). */
const MAX_MESSAGE_LENGTH = 1_000;

/** What body-parser throws (http-errors with `type`), e.g. `entity.too.large`. */
interface BodyParserError {
  readonly type: string;
  readonly status: number;
  readonly expose: boolean;
  readonly message: string;
  readonly limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    error instanceof Error &&
    typeof (error as Partial<BodyParserError>).type === 'string' &&
    typeof (error as Partial<BodyParserError>).status === 'number' &&
    (error as Partial<BodyParserError>).expose === true
  );
}

/**
 * Maps an error to the API's answer: `{ error: { code, message, field? } }`
 * with the status of its code in `statusByCode` (the app's codes; 401 for
 * {@link AuthenticationError}). An error with a `field` names it; one with
 * `retryAfterSeconds` (rate limited, throttled) is answered with `Retry-After`.
 * Any other error is a 500, or a 503 with `Retry-After: 1` when retriable
 * (e.g. Kafka unavailable) or a transient failure of a driver (Postgres
 * unreachable, pool connect timeout, 57P01, 53300, 40001: see
 * {@link isTransientDependencyError}), saying nothing of its cause. Body-parser's errors
 * are 413 (`REQUEST.TOO_LARGE`) and 400 (`REQUEST.MALFORMED_JSON`). Returns
 * undefined for Nest's own HTTP exceptions (unknown route, readiness 503),
 * which keep Nest's shape.
 */
export function toHttpError(error: unknown, statusByCode: StatusByCode): HttpError | undefined {
  if (error instanceof AppError) {
    const status = statusByCode[error.code] ?? sharedStatusByCode[error.code];
    if (status === undefined) return internal(error.retriable ? 503 : 500, error.code);
    const field = 'field' in error && typeof error.field === 'string' ? error.field : undefined;
    const headers: Record<string, string> = {};
    if ('retryAfterSeconds' in error && typeof error.retryAfterSeconds === 'number') {
      headers['Retry-After'] = String(error.retryAfterSeconds); // rate limited, throttled
    }
    if (error instanceof AuthenticationError) {
      // RFC 6750: no error code when no token was given, `invalid_token` with the reason when one was.
      headers['WWW-Authenticate'] = error.tokenGiven
        ? `Bearer error="invalid_token", error_description="${error.reason.replaceAll('"', "'")}"`
        : 'Bearer';
    }
    const message = error.message.length > MAX_MESSAGE_LENGTH ? `${error.message.slice(0, MAX_MESSAGE_LENGTH)}…` : error.message;
    return { status, headers, body: { error: { code: error.code, message, ...(field === undefined ? {} : { field }) } } };
  }
  if (isBodyParserError(error)) {
    if (error.type === 'entity.too.large') {
      return answer(413, 'REQUEST.TOO_LARGE', `request body is larger than ${error.limit ?? 'the limit of'} bytes`);
    }
    if (error.type === 'entity.parse.failed')
      return answer(400, 'REQUEST.MALFORMED_JSON', `request body is not valid JSON: ${error.message}`);
    return answer(error.status, 'REQUEST.INVALID', error.message);
  }
  // Nest turns body-parser's JSON SyntaxError into this one before filters see it; nothing else here throws it.
  if (error instanceof BadRequestException)
    return answer(400, 'REQUEST.MALFORMED_JSON', `request body is not valid JSON: ${error.message}`);
  if (error instanceof Error && 'getStatus' in error) return undefined; // an HttpException of Nest's
  // A database or network outage the caller can wait out, not a bug.
  if (isTransientDependencyError(error)) return internal(503, 'DEPENDENCY.UNAVAILABLE');
  return internal(500, 'INTERNAL');
}

function answer(status: number, code: string, message: string): HttpError {
  return { status, headers: {}, body: { error: { code, message } } };
}

/** Server-side failures say nothing of their cause to the caller; it is logged instead. */
function internal(status: 500 | 503, code: string): HttpError {
  const headers: Record<string, string> = status === 503 ? { 'Retry-After': '1' } : {};
  return { status, headers, body: { error: { code, message: status === 503 ? 'temporarily unavailable, retry' : 'internal error' } } };
}
