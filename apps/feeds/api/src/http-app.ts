import type { NestExpressApplication } from '@nestjs/platform-express';
import { createJsonHttpApp } from '@qls/http-api';
import { AppModule, type AppModuleOptions } from './app.module';

/**
 * The Nest app, configured but not listening: main.ts and the integration
 * tests build it the same way. JSON bodies only, up to `HTTP_BODY_LIMIT_BYTES`
 * (larger: 413 before auth runs).
 */
export function createHttpApp(options: AppModuleOptions): Promise<NestExpressApplication> {
  return createJsonHttpApp(AppModule.register(options), { bodyLimitBytes: options.config.HTTP_BODY_LIMIT_BYTES });
}
