import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createSdk } from './telemetry';

/** What {@link startTestTelemetry} returns. */
export interface TestTelemetry {
  /** Receives every ended span synchronously. */
  readonly exporter: InMemorySpanExporter;
  /** Spans ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Forgets the spans collected so far. */
  reset(): void;
  /** Stops the SDK and unregisters it, so the next test can start another. */
  shutdown(): Promise<void>;
}

/**
 * Runs the same SDK setup as `startTelemetry` (resource, W3C propagators,
 * async context) but sends spans to an in-memory exporter, synchronously, so a
 * test can assert on the spans its code created:
 *
 * ```ts
 * const telemetry = startTestTelemetry();
 * afterAll(() => telemetry.shutdown());
 * // … run the code under test …
 * expect(telemetry.spans().map((s) => s.name)).toContain('orders publish');
 * ```
 *
 * Auto-instrumentation is left out: it hooks Node's `require`, which Jest
 * replaces with its own module loader, so it would not see modules loaded in
 * a test anyway. Spans created through `@opentelemetry/api` (as the messaging
 * adapters do) are captured.
 */
export function startTestTelemetry(options: { serviceName?: string } = {}): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const sdk = createSdk(
    { serviceName: options.serviceName ?? 'test' },
    { spanProcessors: [new SimpleSpanProcessor({ exporter })], instrumentations: [], resourceDetectors: [] },
  );
  sdk.start();
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    shutdown: async () => {
      await sdk.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
