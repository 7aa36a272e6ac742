import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MetricsModule } from './metrics.module';
import { MetricsRegistry } from './metrics.registry';

describe('MetricsRegistry', () => {
  it('hands out the registered metric when the same name is asked for again', () => {
    const metrics = new MetricsRegistry({ service: 'orders', defaultMetrics: false });
    const first = metrics.counter({ name: 'orders_total', help: 'Orders.' });

    expect(metrics.counter({ name: 'orders_total', help: 'Orders.' })).toBe(first);
  });

  it('refuses a name already registered as another kind of metric', () => {
    const metrics = new MetricsRegistry({ service: 'orders', defaultMetrics: false });
    metrics.counter({ name: 'orders_total', help: 'Orders.' });

    expect(() => metrics.gauge({ name: 'orders_total', help: 'Orders.' })).toThrow(/orders_total is already registered as a Counter/);
  });
});

describe('GET /metrics', () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  it('serves the registered metrics in Prometheus text format with the service label', async () => {
    const metrics = new MetricsRegistry({ service: 'orders' });
    metrics.counter({ name: 'orders_placed_total', help: 'Orders placed.', labelNames: ['channel'] }).inc({ channel: 'web' }, 3);
    metrics.histogram({ name: 'order_value', help: 'Order value.', buckets: [10, 100] }).observe(42);
    app = await NestFactory.create(MetricsModule.forRoot(metrics), { logger: false });
    await app.listen(0, '127.0.0.1');

    const response = await fetch(`${await app.getUrl()}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    // Express may reorder the parameters; Prometheus needs text/plain and the format version.
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(text).toContain('# TYPE orders_placed_total counter');
    expect(text).toContain('orders_placed_total{channel="web",service="orders"} 3');
    expect(text).toContain('order_value_bucket{le="100",service="orders"} 1');
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="orders"\} /m);
  });
});
