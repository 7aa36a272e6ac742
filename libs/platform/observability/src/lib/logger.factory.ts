import { hostname } from 'node:os';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Written as `service` on every line. */
  readonly service: string;
  /** Minimum level; `LOG_LEVEL` from `serviceEnv`. @defaultValue `'info'` */
  readonly level?: LevelWithSilent;
  /** Where lines go. @defaultValue stdout, written synchronously so nothing is lost on exit */
  readonly destination?: DestinationStream;
}

/** The ids of the span active where a line is logged, in the field names log backends link on. */
export interface TraceFields {
  trace_id?: string;
  span_id?: string;
}

/** Reads the active span at the moment a line is written (pino calls it per line). */
export function traceFields(): TraceFields {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}

/** Header values that must never reach a log line. */
const REDACTED = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]'];

/**
 * The process logger: one JSON object per line with `level` (as a name),
 * ISO `time`, `service`, `msg`, and the `trace_id`/`span_id` of the span active
 * where the line was logged, so a log backend can jump from a line to its trace.
 * Create one per process and hand it to `LoggingModule` and to non-Nest code.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceFields,
      redact: { paths: REDACTED, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
