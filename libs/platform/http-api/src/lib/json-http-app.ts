import type { DynamicModule, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { positiveInt } from '@qls/config';
import { NEST_LOGGER } from '@qls/observability';

/**
 * `HTTP_BODY_LIMIT_BYTES`, the largest JSON body {@link createJsonHttpApp}
 * accepts, with the app's default.
 */
export function bodyLimitEnv(defaultBytes: number) {
  return { HTTP_BODY_LIMIT_BYTES: positiveInt.default(defaultBytes) };
}

/** Body limit of the operator apps (outbox-relay, notification-dlq-monitor, stream-ops, metrics-storage, metrics-dashboard): their largest body, 1,000 row ids, is ~25 KB. */
export const OPERATOR_BODY_LIMIT_BYTES = 64 * 1024;

export interface JsonHttpAppOptions {
  /** Largest JSON body (`HTTP_BODY_LIMIT_BYTES`, see {@link bodyLimitEnv}). */
  readonly bodyLimitBytes: number;
}

/**
 * An API's Nest app on Express, configured but not listening: logs through
 * the service's logger (ObservabilityModule), parses JSON bodies only, up to
 * `bodyLimitBytes` — a larger one is answered 413 `REQUEST.TOO_LARGE` (by
 * {@link ApiExceptionFilter}) before any guard runs, so before auth — and
 * sends no `X-Powered-By`.
 */
export async function createJsonHttpApp(module: DynamicModule, options: JsonHttpAppOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get<LoggerService>(NEST_LOGGER));
  app.useBodyParser('json', { limit: options.bodyLimitBytes });
  // Nest turns every 400 SyntaxError into a plain BadRequestException, so the
  // filter could not tell malformed JSON from a controller's refusal: the
  // parser's error goes on as an error of its own kind (see toHttpError).
  app.use((error: unknown, _request: unknown, _response: unknown, next: (error?: unknown) => void) => {
    if (!(error instanceof SyntaxError) || (error as { type?: unknown }).type !== 'entity.parse.failed') return next(error);
    next(Object.assign(new Error(error.message), { type: 'entity.parse.failed', status: 400, expose: true }));
  });
  app.disable('x-powered-by');
  return app;
}
