import type { NestExpressApplication } from '@nestjs/platform-express';
import { createJsonHttpApp } from '@qls/http-api';
import { AppModule, type AppModuleOptions } from './app.module';

/**
 * The Nest app, configured but not listening: main.ts, the integration tests
 * and the benchmark build it the same way. JSON bodies only, up to
 * `HTTP_BODY_LIMIT_BYTES` (larger: 413 before auth runs). Express, because
 * @nestjs/platform-fastify is not installed; per-request cost is small next
 * to a batch of points, and POST /metrics writes no access-log line (the
 * shared LoggingModule leaves /metrics out) — errors are counted in
 * metrics_ingest_requests_total and 5xx logged by the exception filter.
 */
export async function createHttpApp(options: AppModuleOptions): Promise<NestExpressApplication> {
  const app = await createJsonHttpApp(AppModule.register(options), { bodyLimitBytes: options.config.HTTP_BODY_LIMIT_BYTES });
  app.set('etag', false);
  return app;
}
