import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { NEST_LOGGER } from '@qls/observability';
import { AppModule, type AppModuleOptions } from './app.module';

/**
 * The Nest app, configured but not listening: main.ts and the integration
 * tests build it the same way. JSON bodies only, up to `HTTP_BODY_LIMIT_BYTES`
 * (larger: 413 before auth runs).
 */
export async function createHttpApp(options: AppModuleOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(options), {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get<LoggerService>(NEST_LOGGER));
  app.useBodyParser('json', { limit: options.config.HTTP_BODY_LIMIT_BYTES });
  app.disable('x-powered-by');
  return app;
}
