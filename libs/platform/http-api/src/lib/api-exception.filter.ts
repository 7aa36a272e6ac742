import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@qls/observability';
import { type StatusByCode, toHttpError } from './http-errors';

/** A request answered with an error, as {@link ApiExceptionFilterOptions.onError} sees it. */
export interface FailedRequest {
  readonly method: string | undefined;
  /** The path and query string. */
  readonly url: string | undefined;
  /** The parsed body when there is one (a 401 comes after body parsing). */
  readonly body: unknown;
  readonly exception: unknown;
  /** The answer's error code (`AUTH.UNAUTHENTICATED`, `NOT_FOUND`...), or `HTTP_<status>` for a readiness report: an `outcome` label. */
  readonly outcome: string;
}

export interface ApiExceptionFilterOptions {
  readonly logger: Logger;
  /** The app's error codes and their statuses (see {@link toHttpError}). */
  readonly statusByCode: StatusByCode;
  /** Called for every error answer, e.g. to count it by outcome. */
  readonly onError?: (request: FailedRequest) => void;
}

/**
 * Every error of every route, including body-parser's (413, malformed JSON),
 * the guards' (401, 429) and Nest's own (unknown route), answered as
 * `{ error: { code, message, field? } }` — a readiness report keeps its body
 * (see {@link toHttpError}) and handed to `onError`. 500s are logged at
 * error with their cause, 503s (a dependency unavailable) at warn, client
 * errors (4xx) at debug.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly options: ApiExceptionFilterOptions) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<IncomingMessage & { originalUrl?: string; body?: unknown }>();
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const { logger, statusByCode, onError } = this.options;
    const url = request.originalUrl ?? request.url;
    const mapped = toHttpError(exception, statusByCode);
    let status: number;
    let body: unknown;
    if (mapped === undefined) {
      const httpException = exception as HttpException;
      status = httpException.getStatus();
      const nestBody = httpException.getResponse();
      body = typeof nestBody === 'string' ? { statusCode: status, message: nestBody } : nestBody;
    } else {
      status = mapped.status;
      body = mapped.body;
      for (const [name, value] of Object.entries(mapped.headers)) response.setHeader(name, value);
      if (status === 503) logger.warn({ err: exception, url }, 'request failed: dependency unavailable');
      else if (status >= 500) logger.error({ err: exception, url }, 'request failed');
      else logger.debug({ url, status, code: mapped.body.error.code, reason: mapped.body.error.message }, 'request refused');
    }
    onError?.({ method: request.method, url, body: request.body, exception, outcome: mapped?.body.error.code ?? `HTTP_${status}` });
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.statusCode = status;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify(body));
  }
}
