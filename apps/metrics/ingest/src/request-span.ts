import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { PermanentError, errorCode, errorMessage } from '@qls/messaging';
import { IngestThrottledError } from '@qls/metrics-ingestion';

const tracer = trace.getTracer('metrics-ingest');

/**
 * Runs `work` in a span of the request's trace, so that the records it
 * produces carry the caller's trace to the consumers.
 *
 * In a deployed app the HTTP instrumentation has already opened the server
 * span that continues the caller's `traceparent`, and `work` simply runs in
 * it. Where no such span exists (auto-instrumentation off, or in-process
 * tests, where Jest's module loader hides `http` from it) this opens one from
 * the incoming header, so the trace is never silently dropped.
 */
export function inRequestSpan<T>(request: IncomingMessage, route: string, work: () => Promise<T>): Promise<T> {
  const active = trace.getSpan(context.active())?.spanContext();
  const incomingContext = propagation.extract(ROOT_CONTEXT, request.headers);
  const incoming = trace.getSpanContext(incomingContext);
  if (active !== undefined && (incoming === undefined || incoming.traceId === active.traceId)) return work();
  const method = request.method ?? 'POST';
  return tracer.startActiveSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
    incoming === undefined ? context.active() : incomingContext,
    async (span) => {
      try {
        return await work();
      } catch (error) {
        span.setAttribute('error.type', errorCode(error));
        // A refused request (4xx) is the caller's problem, not a failure of the server.
        if (!(error instanceof PermanentError) && !(error instanceof IngestThrottledError)) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
        }
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
