import { BadRequestException } from '@nestjs/common';
import { AppError } from '@qls/messaging';
import { AuthenticationError, IngestErrorCode, IngestThrottledError } from '@qls/metrics-ingest';

/** The body of every error answer of the ingest API (the same shape as notification-api's). */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

/** The only place error codes become HTTP statuses. */
const statusByCode: Readonly<Record<string, number>> = {
  [IngestErrorCode.validationFailed]: 400,
  [IngestErrorCode.serviceMismatch]: 403,
  [IngestErrorCode.throttled]: 429,
  'AUTH.UNAUTHENTICATED': 401,
};

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
 * with the status of its code. Returns undefined for Nest's own HTTP
 * exceptions (unknown route, readiness 503), which keep Nest's shape.
 * A failed produce (Kafka unavailable: retriable) is a 503 with Retry-After.
 */
export function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof AppError) {
    const status = statusByCode[error.code];
    if (status === undefined) return internal(error.retriable ? 503 : 500, error.code);
    const field = 'field' in error && typeof error.field === 'string' ? error.field : undefined;
    const headers: Record<string, string> = {};
    if (error instanceof IngestThrottledError) headers['Retry-After'] = String(error.retryAfterSeconds);
    if (error instanceof AuthenticationError) {
      // RFC 6750: no error code when no token was given, `invalid_token` with the reason when one was.
      headers['WWW-Authenticate'] = error.tokenGiven
        ? `Bearer error="invalid_token", error_description="${error.reason.replaceAll('"', "'")}"`
        : 'Bearer';
    }
    return { status, headers, body: { error: { code: error.code, message: error.message, ...(field === undefined ? {} : { field }) } } };
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

/** Whether a request is `POST /metrics` (the ingest), as opposed to the Prometheus scrape or a probe. */
export function isIngestRequest(method: string | undefined, url: string | undefined): boolean {
  return method === 'POST' && /^\/metrics\/?(\?|$)/.test(url ?? '');
}
