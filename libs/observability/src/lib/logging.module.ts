import { Module, type DynamicModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';

/**
 * Token of the Nest `LoggerService` backed by the process logger; main.ts does
 * `app.useLogger(app.get(NEST_LOGGER))` so Nest's own lines are JSON too.
 */
export const NEST_LOGGER = Symbol('NEST_LOGGER');

/** Probes and scrapes are not worth a log line each. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * Request logging and Nest's logger on top of the process logger (nestjs-pino
 * + pino-http): one `request completed` line per request with method, url,
 * status, duration and the request's `trace_id` — never request bodies, and
 * with credentials redacted (see `createLogger`). Import it once, in the root
 * module.
 */
@Module({})
export class LoggingModule {
  /**
   * Returns a promise, which Nest accepts in `imports`. nestjs-pino is loaded
   * here rather than at the top of the file because it loads @nestjs/core:
   * this package's entry point must not load instrumented modules before
   * `startTelemetry()` has run (see there).
   */
  static async forRoot(logger: Logger): Promise<DynamicModule> {
    const { Logger: PinoNestLogger, LoggerModule } = await import('nestjs-pino');
    return {
      module: LoggingModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            autoLogging: { ignore: (request: IncomingMessage) => request.method === 'GET' && QUIET_PATHS.test(request.url ?? '') },
            customLogLevel: (_request, response, error) =>
              error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
          },
        }),
      ],
      providers: [{ provide: NEST_LOGGER, useExisting: PinoNestLogger }],
      exports: [NEST_LOGGER],
    };
  }
}
