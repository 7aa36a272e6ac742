import { HttpException, HttpStatus } from '@nestjs/common';
import { excerpt } from '@qls/config';
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
 * are 413 (`REQUEST.TOO_LARGE`) and 400 (`REQUEST.MALFORMED_JSON`). Nest's
 * HTTP exceptions (unknown route, a path parameter that is not valid
 * percent-encoding, an operator controller's `BadRequestException`) get the
 * same shape, with a code for their status (see {@link fromHttpException});
 * only a body that is a report of its own (readiness: `{ status, checks }`)
 * is kept as it is: then this returns undefined.
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
  if (error instanceof HttpException) return fromHttpException(error);
  // A database or network outage the caller can wait out, not a bug.
  if (isTransientDependencyError(error)) return internal(503, 'DEPENDENCY.UNAVAILABLE');
  return internal(500, 'INTERNAL');
}

/** The code of a Nest HTTP exception's answer, by status. */
const codeByStatus: Readonly<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'REQUEST.INVALID',
  [HttpStatus.UNAUTHORIZED]: 'AUTH.UNAUTHENTICATED',
  [HttpStatus.FORBIDDEN]: 'AUTH.FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'REQUEST.METHOD_NOT_ALLOWED',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'REQUEST.TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RATE_LIMITED',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'INTERNAL',
  [HttpStatus.NOT_IMPLEMENTED]: 'NOT_IMPLEMENTED',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'DEPENDENCY.UNAVAILABLE',
  [HttpStatus.GATEWAY_TIMEOUT]: 'DEPENDENCY.TIMEOUT',
};

/**
 * A Nest HTTP exception in the one error shape: a body already in it
 * (`{ error: { code, message, field? } }`) as it is; Nest's default
 * (`{ statusCode, message, error }`, or a string) as the code of its status
 * and its message (a 500 says nothing of its cause). Undefined for any other
 * body (readiness reports keep theirs).
 */
function fromHttpException(exception: HttpException): HttpError | undefined {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'object' && response !== null && !('statusCode' in response)) {
    const error = (response as { error?: unknown }).error;
    if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
      return { status, headers: {}, body: response as ErrorBody };
    }
    return undefined;
  }
  const code = codeByStatus[status] ?? `HTTP_${status}`;
  if (status === HttpStatus.INTERNAL_SERVER_ERROR) return internal(500, code);
  const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  let message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
  // Express: a path parameter that is not valid percent-encoding ("Failed to decode param '%FF…'", echoed whole).
  if (message.startsWith('Failed to decode param')) message = 'a path parameter is not valid percent-encoding';
  // Nest: an unknown route ("Cannot GET /<the whole path>"): the path is caller input, echoed as an excerpt only.
  const unknownRoute = /^Cannot ([A-Z]+) (.*)$/s.exec(message);
  if (status === HttpStatus.NOT_FOUND && unknownRoute) message = `no route ${unknownRoute[1]} ${excerpt(unknownRoute[2] ?? '')}`;
  if (message.length > MAX_MESSAGE_LENGTH) message = `${message.slice(0, MAX_MESSAGE_LENGTH)}…`;
  return answer(status, code, message);
}

function answer(status: number, code: string, message: string): HttpError {
  return { status, headers: {}, body: { error: { code, message } } };
}

/** Server-side failures say nothing of their cause to the caller; it is logged instead. */
function internal(status: 500 | 503, code: string): HttpError {
  const headers: Record<string, string> = status === 503 ? { 'Retry-After': '1' } : {};
  return { status, headers, body: { error: { code, message: status === 503 ? 'temporarily unavailable, retry' : 'internal error' } } };
}

/** How an endpoint answers an error code: with a status (and the error's message), or with the exception built for it. */
export type CodeAnswer = number | ((error: AppError) => HttpException);

/**
 * Runs `work`; an {@link AppError} it throws becomes the Nest HTTP exception
 * its code answers with in `answers` — any other retriable one a 503 — so the
 * exception filter sends it in the one error shape. Any other error is
 * rethrown as it is. For endpoints whose codes are theirs alone, e.g. an
 * operator endpoint over a library's errors: the mapping stays in one place
 * next to the routes.
 */
export async function answeringCodes<T>(answers: Readonly<Record<string, CodeAnswer>>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const answer = answers[error.code];
    if (typeof answer === 'function') throw answer(error);
    if (answer !== undefined) throw new HttpException(error.message, answer);
    if (error.retriable) throw new HttpException(error.message, HttpStatus.SERVICE_UNAVAILABLE);
    throw error;
  }
}
