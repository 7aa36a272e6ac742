import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import type { LevelWithSilent, Logger } from 'pino';
import { enableGracefulShutdown } from './graceful-shutdown';
import { createLogger } from './logger.factory';
import { listenWithManagementPort } from './management-port';
import { NEST_LOGGER } from './logging.module';

/** The settings every service has (`serviceEnv` in libs/platform/config). */
export interface ServiceSettings {
  readonly SERVICE_NAME?: string | undefined;
  readonly LOG_LEVEL: LevelWithSilent;
  readonly HTTP_PORT: number;
  /** The address to bind (`HOST`): loopback by default, `0.0.0.0` in the image. */
  readonly HOST: string;
  /** Where `/metrics` and `/health/*` are served instead of `HTTP_PORT`, when set. */
  readonly MANAGEMENT_PORT?: number | undefined;
  readonly SHUTDOWN_TIMEOUT_MS: number;
}

/** What an app's root module (or app factory) is built from. */
export interface ServiceContext<C extends ServiceSettings> {
  readonly config: C;
  readonly service: string;
  readonly logger: Logger;
}

/**
 * A Nest app from a root module, logging through the service's JSON logger.
 * `@nestjs/core` is loaded here, lazily, so that importing this library never
 * loads it before `startTelemetry()` has run (instrumentation patches modules
 * as they are first required).
 */
export async function createNestApp(module: DynamicModule): Promise<INestApplication> {
  const { NestFactory } = await import('@nestjs/core');
  const app = await NestFactory.create(module, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get<LoggerService>(NEST_LOGGER));
  return app;
}

/**
 * A service's `main`: logger from the config, the app built by `build`,
 * graceful shutdown on SIGTERM/SIGINT, listening on `HOST`:`HTTP_PORT` (and
 * `/metrics`, `/health/*` on `MANAGEMENT_PORT` alone when set); a failure to
 * start is logged and exits 1. main.ts imports its instrumentation first, then
 * calls this:
 *
 * ```ts
 * import { serviceName } from './instrumentation';
 * runService(serviceName, loadConfigOrExit(configSchema), (ctx) => createNestApp(AppModule.register(ctx)));
 * ```
 */
export function runService<C extends ServiceSettings>(
  serviceName: string,
  config: C,
  build: (context: ServiceContext<C>) => Promise<INestApplication>,
): void {
  const service = config.SERVICE_NAME ?? serviceName;
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const start = async () => {
    const app = await build({ config, service, logger });
    enableGracefulShutdown(app, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
    // Keep idle connections open longer than clients and load balancers do (AWS
    // ALB: 60 s); with Node's 5 s default the server closes a connection a
    // client is about to reuse, and that request fails with ECONNRESET.
    const server = app.getHttpServer() as { keepAliveTimeout: number; headersTimeout: number };
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    if (config.MANAGEMENT_PORT === undefined) await app.listen(config.HTTP_PORT, config.HOST);
    else await listenWithManagementPort(app, config.HTTP_PORT, config.MANAGEMENT_PORT, config.HOST);
  };
  start().catch((error: unknown) => {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  });
}
