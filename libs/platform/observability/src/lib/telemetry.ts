import { CompositePropagator, getStringFromEnv, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /**
   * `service.name` of every span. `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`
   * override it (the SDK's env resource detector runs last), so one build can
   * run under several names.
   */
  readonly serviceName: string;
  /** `service.version`; omitted when unknown. */
  readonly serviceVersion?: string;
}

/** GETs that probes and scrapers make all day: tracing them only adds noise (a POST /metrics, e.g. an ingest API, is traced). */
const UNTRACED_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry Node SDK for this process: W3C `traceparent` +
 * `baggage` propagation, a resource carrying `service.name`/`service.version`,
 * and auto-instrumentation of http, pg and ioredis.
 *
 * Express and @nestjs/core are not instrumented: their spans (the route
 * handler, Nest's request context and controller method) repeat the HTTP
 * server span under other names, and creating them took a third of an API's
 * CPU per request (measured with `npm run bench -- notifications-e2e`: 0.39 →
 * 0.26 ms per notification in notification-api). The server span is named
 * after the route the request matched (`http.route`, from Express's
 * `req.route`), as the Express instrumentation would name it.
 *
 * **Call it before anything else is loaded** — from a side-effect module
 * (`apps/<system>/<app>/src/instrumentation.ts`) that is the first import of `main.ts`.
 * Instrumentations work by hooking `require`: they patch a module when it is
 * loaded, so a module that was loaded before this call (say `pg` or
 * `ioredis`) stays unpatched and its spans are silently missing. For the same
 * reason this package's entry point does not load any of those modules itself.
 *
 * Traces are exported with OTLP/HTTP when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (batched; `OTEL_BSP_*` apply). Without
 * an endpoint nothing is exported, but spans still get real ids, so log lines
 * carry `trace_id` and the context still propagates downstream. Metrics and
 * logs are not exported over OTLP: metrics are scraped from `/metrics`, logs
 * go to stdout as JSON. `OTEL_SDK_DISABLED=true` turns all of it off.
 *
 * kafkajs and the AWS SDK are deliberately not instrumented: the project's
 * messaging adapters (libs/platform/kafka and libs/platform/sqs, through libs/platform/messaging) create
 * the producer/consumer spans themselves and carry the trace context in Kafka
 * headers and SQS message attributes, so auto-instrumentation would only add
 * duplicate spans.
 *
 * Calling it again is a no-op.
 */
export function startTelemetry(options: TelemetryOptions): void {
  if (sdk) return;
  // The OTel SDK reads its own standard OTEL_* variables; this only decides
  // whether an exporter is wanted at all (the exporter reads the URL itself).
  const endpoint = getStringFromEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? getStringFromEnv('OTEL_EXPORTER_OTLP_ENDPOINT');
  sdk = createSdk(options, {
    ...(endpoint ? { traceExporter: new OTLPTraceExporter() } : { spanProcessors: [new NoopSpanProcessor()] }),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => request.method === 'GET' && UNTRACED_PATHS.test(request.url ?? ''),
        // Outgoing calls outside any trace — a consumer's long polls and batched
        // deletes, pollers — would each start a trace of their own: noise, and
        // a span per call on the hot path.
        requireParentforOutgoingSpans: true,
        // The route the request matched names its server span (`POST /notifications/:id`).
        applyCustomAttributesOnSpan: (span, request) => {
          const route = (request as { route?: { path?: unknown } }).route?.path;
          if (typeof route !== 'string') return;
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          span.updateName(`${(request as { method?: string }).method ?? 'GET'} ${route}`);
        },
      }),
      // Background queries (pollers, readiness checks) would each start a trace of their own.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
}

/**
 * Flushes pending spans and stops the SDK. Call it once, at the end of a
 * graceful shutdown (after the HTTP server and clients are closed, so their
 * last spans are included). Resolves even if the export fails: losing the
 * last spans must not turn a clean shutdown into a failed one.
 */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}

/**
 * The SDK as both `startTelemetry` and the testing helper configure it. Metric
 * readers and log processors are set to none explicitly: left unset, the SDK
 * would start OTLP exporters for them from the environment.
 */
export function createSdk(
  options: TelemetryOptions,
  tracing: Pick<Partial<NodeSDKConfiguration>, 'traceExporter' | 'instrumentations' | 'resourceDetectors'> & {
    spanProcessors?: SpanProcessor[];
  },
): NodeSDK {
  return new NodeSDK({
    ...tracing,
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
      }),
    ),
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    metricReaders: [],
    logRecordProcessors: [],
  });
}
