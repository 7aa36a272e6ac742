import type { DynamicModule, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { z } from '@qls/config';
import { NEST_LOGGER } from '@qls/observability';

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

/**
 * `HTTP_BODY_LIMIT_BYTES`, the largest JSON body {@link createJsonHttpApp}
 * accepts, with the app's default.
 */
export function bodyLimitEnv(defaultBytes: number) {
  return { HTTP_BODY_LIMIT_BYTES: positiveInt.default(defaultBytes) };
}

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
  app.disable('x-powered-by');
  return app;
}
