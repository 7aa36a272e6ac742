import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '@qls/config';
import { createLogger, enableGracefulShutdown, NEST_LOGGER } from '@qls/observability';
import { AppModule } from './app.module';
import { configSchema } from './config';

const config = loadConfigOrExit(configSchema);
const service = config.SERVICE_NAME ?? serviceName;
const logger = createLogger({ service, level: config.LOG_LEVEL });

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule.register({ config, service, logger }), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get<LoggerService>(NEST_LOGGER));
  enableGracefulShutdown(app, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
  await app.listen(config.HTTP_PORT);
}

bootstrap().catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
