import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@qls/observability';
import { type ApiMetrics, operationOf } from './api.metrics';
import { toHttpError } from './http-errors';

/**
 * Every error of every route, including body-parser's (413, malformed JSON)
 * and the guards' (401, 429), answered as `{ error: { code, message, field? } }`
 * (see {@link toHttpError}) and counted by outcome. 5xx are logged with their cause.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: ApiMetrics,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<IncomingMessage & { originalUrl?: string }>();
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const mapped = toHttpError(exception);
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
      if (status >= 500) this.logger.error({ err: exception, url: request.originalUrl ?? request.url }, 'request failed');
    }
    const operation = operationOf(request.method, request.originalUrl ?? request.url);
    if (operation !== undefined) {
      this.metrics.requests.inc({ operation, outcome: mapped?.body.error.code ?? `HTTP_${status}` });
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.statusCode = status;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify(body));
  }
}
