import { Body, Controller, Get, Logger, Module, Post, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { captureLogs } from '../testing';
import { createLogger } from './logger.factory';
import { LoggingModule, NEST_LOGGER } from './logging.module';

@Controller()
class OrdersController {
  @Post('orders')
  place(@Body() _order: unknown): { accepted: true } {
    return { accepted: true };
  }

  @Get('health/live')
  live(): string {
    return 'up';
  }
}

/** The request line is written when the response has finished, which may be just after the client has it. */
async function eventually(assertion: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

// Nest's logger is process-wide static state, so the tests share one app, as a service would.
describe('LoggingModule', () => {
  const capture = captureLogs();
  let app: INestApplication;
  let url: string;
  const completed = (): Record<string, unknown>[] => capture.lines().filter((line) => line['msg'] === 'request completed');

  beforeAll(async () => {
    @Module({
      imports: [LoggingModule.forRoot(createLogger({ service: 'orders', destination: capture.destination }))],
      controllers: [OrdersController],
    })
    class TestModule {}
    app = await NestFactory.create(TestModule, { bufferLogs: true });
    app.useLogger(app.get<LoggerService>(NEST_LOGGER));
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(() => app.close());

  it("routes Nest's own log lines through the process logger", () => {
    expect(capture.lines()).toContainEqual(
      expect.objectContaining({ service: 'orders', context: 'NestApplication', msg: 'Nest application successfully started' }),
    );
  });

  it('logs one line per request with method, url and status, but not the body or credentials', async () => {
    const before = completed().length;
    await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer secret' },
      body: JSON.stringify({ card: '4111 1111 1111 1111' }),
    });

    await eventually(() =>
      expect(completed().slice(before)).toEqual([
        expect.objectContaining({
          service: 'orders',
          req: expect.objectContaining({
            method: 'POST',
            url: '/orders',
            headers: expect.objectContaining({ authorization: '[redacted]' }),
          }),
          res: expect.objectContaining({ statusCode: 201 }),
        }),
      ]),
    );
    expect(JSON.stringify(capture.lines())).not.toContain('4111');
  });

  it('logs a client error at warn, with its status', async () => {
    const before = completed().length;
    await fetch(`${url}/no-such-route?x=1`);

    await eventually(() =>
      expect(completed().slice(before)).toEqual([
        expect.objectContaining({
          level: 'warn',
          req: expect.objectContaining({ method: 'GET', url: '/no-such-route?x=1' }),
          res: expect.objectContaining({ statusCode: 404 }),
        }),
      ]),
    );
  });

  it("keeps the context and the stack of Nest's error lines", () => {
    new Logger('OrdersService').error('could not place the order', 'Error: boom\n    at place (orders.ts:1:1)');

    expect(capture.lines().at(-1)).toMatchObject({
      level: 'error',
      context: 'OrdersService',
      msg: 'could not place the order',
      err: { stack: 'Error: boom\n    at place (orders.ts:1:1)' },
    });
  });

  it('does not log probe requests', async () => {
    const before = completed().length;
    await fetch(`${url}/health/live`);
    await fetch(`${url}/orders`, { method: 'POST' }); // logged after the probe, so the probe had its chance

    await eventually(() =>
      expect(
        completed()
          .slice(before)
          .map((line) => (line['req'] as { url: string }).url),
      ).toEqual(['/orders']),
    );
  });
});
