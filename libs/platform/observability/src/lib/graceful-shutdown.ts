import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import { shutdownTelemetry } from './telemetry';

/** Options of {@link enableGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** The whole shutdown must finish within this; `SHUTDOWN_TIMEOUT_MS` from `serviceEnv`. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** @defaultValue `['SIGTERM', 'SIGINT']` */
  readonly signals?: readonly NodeJS.Signals[];
}

type Closable = Pick<INestApplicationContext, 'close'>;

/**
 * On SIGTERM/SIGINT: close the app — Nest stops accepting connections, lets
 * in-flight requests finish and runs the `onApplicationShutdown` hooks (where
 * pools and clients close) — then flush telemetry and exit 0. If that takes
 * longer than `timeoutMs`, exit 1 instead so the orchestrator sees a hung
 * shutdown.
 *
 * Use it instead of Nest's `app.enableShutdownHooks()`, not with it: that one
 * has no deadline, re-raises the signal (exit status 143, not 0) unless told
 * otherwise, and would exit before telemetry is flushed.
 */
export function enableGracefulShutdown(app: Closable, options: GracefulShutdownOptions): void {
  const shutdown = shutdownSequence(app, options, (code) => process.exit(code));
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, shutdown);
}

/** The sequence behind {@link enableGracefulShutdown}, with `exit` passed in so it can be tested. */
export function shutdownSequence(
  app: Closable,
  options: GracefulShutdownOptions,
  exit: (code: 0 | 1) => void,
): (signal: NodeJS.Signals) => void {
  const { logger, timeoutMs } = options;
  let stopping = false;

  return (signal) => {
    if (stopping) return; // a second signal while draining changes nothing
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
    const finish = (code: 0 | 1): void => {
      clearTimeout(deadline);
      logger.flush();
      exit(code);
    };
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown did not finish in time, exiting');
      finish(1);
    }, timeoutMs);
    deadline.unref();

    app
      .close()
      .then(() => shutdownTelemetry())
      .then(
        () => {
          logger.info('shutdown complete');
          finish(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          finish(1);
        },
      );
  };
}
