import { Inject, Module, type DynamicModule, type LoggerService, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Level, Logger } from 'pino';

/**
 * Token of the Nest `LoggerService` backed by the process logger; main.ts does
 * `app.useLogger(app.get(NEST_LOGGER))` so Nest's own lines are JSON too.
 */
export const NEST_LOGGER = Symbol('NEST_LOGGER');

const PROCESS_LOGGER = Symbol('PROCESS_LOGGER');

/** Probes and scrapes are not worth a log line each. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * Request logging and Nest's logger on top of the process logger: one
 * `request completed` line per request with method, url, headers (credentials
 * redacted, see `createLogger`), status and duration, and the request's
 * `trace_id` — never the body. Import it once, in the root module.
 *
 * The line is built when the response has finished, and only if its level is
 * enabled: a request costs a timestamp and a listener, not a serialised
 * request. (pino-http, used before, binds the request to a child logger on
 * every request whether or not anything is logged: a sixth of an API's CPU.)
 */
@Module({})
export class LoggingModule implements NestModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggingModule,
      global: true,
      providers: [
        { provide: PROCESS_LOGGER, useValue: logger },
        { provide: NEST_LOGGER, useValue: new NestPinoLogger(logger) },
      ],
      exports: [NEST_LOGGER],
    };
  }

  constructor(@Inject(PROCESS_LOGGER) private readonly logger: Logger) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestLogger(this.logger)).forRoutes('{*path}');
  }
}

/** Express-style middleware writing the `request completed` line. */
function requestLogger(logger: Logger) {
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    // Express's originalUrl: the url before a router mounted on a prefix rewrote `url`.
    const url = (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '';
    if (!(request.method === 'GET' && QUIET_PATHS.test(url))) {
      const started = performance.now();
      response.once('finish', () => {
        const status = response.statusCode;
        const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        if (!logger.isLevelEnabled(level)) return;
        logger[level](
          {
            req: { method: request.method, url, headers: request.headers, remoteAddress: request.socket.remoteAddress },
            res: { statusCode: status, headers: response.getHeaders() },
            responseTime: Math.round(performance.now() - started),
          },
          'request completed',
        );
      });
    }
    next();
  };
}

/**
 * Nest's `LoggerService` on the process logger. Nest calls `log(message,
 * context)` and `error(message, stack, context)`; the context becomes a
 * `context` field, a stack an `err.stack`.
 */
class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = rest.length > 0 && typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (level === 'error' && typeof rest[0] === 'string') fields['err'] = { stack: rest[0] };
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }
}
