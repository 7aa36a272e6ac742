import { context, propagation, trace } from '@opentelemetry/api';
import { startTestTelemetry } from './test-telemetry';

describe('startTestTelemetry', () => {
  it('captures the spans code creates through the API, with the service name', async () => {
    const telemetry = startTestTelemetry({ serviceName: 'orders' });
    try {
      trace.getTracer('test').startActiveSpan('publish order', (span) => span.end());

      const [span] = telemetry.spans();
      expect(span?.name).toBe('publish order');
      expect(span?.resource.attributes['service.name']).toBe('orders');
    } finally {
      await telemetry.shutdown();
    }
  });

  it('propagates W3C trace context, and can be started again after a shutdown', async () => {
    const telemetry = startTestTelemetry();
    try {
      const carrier: Record<string, string> = {};
      const traceId = trace.getTracer('test').startActiveSpan('send', (span) => {
        propagation.inject(context.active(), carrier);
        span.end();
        return span.spanContext().traceId;
      });

      expect(carrier['traceparent']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(telemetry.spans()).toHaveLength(1);
      telemetry.reset();
      expect(telemetry.spans()).toEqual([]);
    } finally {
      await telemetry.shutdown();
    }
  });
});
