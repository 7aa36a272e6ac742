import { MetricsRegistry } from '@qls/observability';
import { AlertingBackpressure } from './alerting-lag';
import type { AlertingLagSource } from './backpressure';
import { createIngestMetrics } from './ingest.metrics';

const settings = { policy: 'throttle', lagThreshold: 10, sampleRate: 0.5, retryAfterSeconds: 1 } as const;

function backpressure(source: AlertingLagSource, firstReadTimeoutMs = 50) {
  const metrics = createIngestMetrics(new MetricsRegistry({ service: 'test', defaultMetrics: false }));
  return { metrics, backpressure: new AlertingBackpressure({ source, settings, intervalMs: 60_000, firstReadTimeoutMs, metrics }) };
}

describe('AlertingBackpressure', () => {
  it('starts with the lag read when the source answers in time', async () => {
    const { backpressure: subject, metrics } = backpressure({ lag: async () => ({ messages: 11, seconds: 4 }) });
    await subject.start();
    subject.stop();

    expect(subject.decide()).toEqual({ mode: 'throttle', retryAfterSeconds: 1, lagMessages: 11 });
    expect((await metrics.alertingLag.get()).values[0]?.value).toBe(11);
    expect((await metrics.alertingLagSeconds.get()).values[0]?.value).toBe(4);
  });

  it('does not hold up the boot for a source that does not answer: the lag stays unknown, no backpressure', async () => {
    const { backpressure: subject } = backpressure({ lag: () => new Promise(() => undefined) }, 20);
    const started = Date.now();
    await subject.start();
    subject.stop();

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(subject.lag).toBeUndefined();
    expect(subject.decide()).toEqual({ mode: 'accept' });
  });
});
