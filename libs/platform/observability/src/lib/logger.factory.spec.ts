import { trace } from '@opentelemetry/api';
import { captureLogs, startTestTelemetry, type TestTelemetry } from '../testing';
import { createLogger } from './logger.factory';

describe('createLogger', () => {
  let telemetry: TestTelemetry;
  beforeAll(() => {
    telemetry = startTestTelemetry();
  });
  afterAll(() => telemetry.shutdown());

  it('stamps each line with the trace and span id of the span active where it is logged', () => {
    const capture = captureLogs();
    const logger = createLogger({ service: 'orders', destination: capture.destination });

    const ids = trace.getTracer('test').startActiveSpan('handle order', (span) => {
      logger.info({ orderId: 7 }, 'order handled');
      span.end();
      return span.spanContext();
    });

    const [line] = capture.lines();
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line).toMatchObject({ msg: 'order handled', orderId: 7, trace_id: ids.traceId, span_id: ids.spanId });
  });

  it('leaves the trace fields out when no span is active', () => {
    const capture = captureLogs();
    createLogger({ service: 'orders', destination: capture.destination }).info('idle');

    const [line] = capture.lines();
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
  });

  it('writes JSON with the service, the level by name and an ISO time', () => {
    const capture = captureLogs();
    createLogger({ service: 'orders', destination: capture.destination }).warn('careful');

    const [line] = capture.lines();
    expect(line).toMatchObject({ service: 'orders', level: 'warn', msg: 'careful' });
    expect(new Date(String(line?.['time'])).toISOString()).toBe(line?.['time']);
  });

  it('drops lines below the configured level', () => {
    const capture = captureLogs();
    const logger = createLogger({ service: 'orders', level: 'warn', destination: capture.destination });
    logger.info('chatty');
    logger.error('broken');

    expect(capture.lines().map((line) => line['msg'])).toEqual(['broken']);
  });

  it('redacts credentials in logged request headers', () => {
    const capture = captureLogs();
    createLogger({ service: 'orders', destination: capture.destination }).info(
      { req: { headers: { authorization: 'Bearer secret', accept: 'application/json' } } },
      'request',
    );

    expect(capture.lines()[0]).toMatchObject({ req: { headers: { authorization: '[redacted]', accept: 'application/json' } } });
  });
});
