import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import { loadConfigOrExit } from '@qls/config';
import { createLogger, enableGracefulShutdown } from '@qls/observability';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

const config = loadConfigOrExit(configSchema);
const service = config.SERVICE_NAME ?? serviceName;
const logger = createLogger({ service, level: config.LOG_LEVEL });

async function bootstrap(): Promise<void> {
  const app = await createHttpApp({ config, service, logger });
  enableGracefulShutdown(app, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
  await app.listen(config.HTTP_PORT);
}

bootstrap().catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
