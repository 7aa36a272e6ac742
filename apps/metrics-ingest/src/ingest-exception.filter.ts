import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthenticationError, type IngestMetrics, pointCountOf } from '@qls/metrics-ingest';
import type { Logger } from '@qls/observability';
import { isIngestRequest, toHttpError } from './http-errors';

/**
 * Every error of every route, including body-parser's (413, malformed JSON)
 * and the guard's (401), answered as `{ error: { code, message, field? } }`
 * (see {@link toHttpError}) and counted by outcome: requests in
 * `metrics_ingest_requests_total`, and the points of a request refused before
 * the ingestor saw it (401) as `rejected`. 5xx are logged with their cause,
 * 4xx at debug.
 */
@Catch()
export class IngestExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: IngestMetrics,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<IncomingMessage & { originalUrl?: string; body?: unknown }>();
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const url = request.originalUrl ?? request.url;
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
      if (status >= 500) this.logger.error({ err: exception, url }, 'request failed');
      else this.logger.debug({ url, status, code: mapped.body.error.code, reason: mapped.body.error.message }, 'request refused');
    }
    if (isIngestRequest(request.method, url)) {
      this.metrics.requests.inc({ outcome: mapped?.body.error.code ?? `HTTP_${status}` });
      if (exception instanceof AuthenticationError) this.metrics.points.inc({ outcome: 'rejected' }, pointCountOf(request.body));
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
