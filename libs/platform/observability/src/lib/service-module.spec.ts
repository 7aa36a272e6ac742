import { Controller, Get, Inject, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ReadinessChecks } from './health.module';
import { createLogger } from './logger.factory';
import { MetricsRegistry } from './metrics.registry';
import type { ServiceContext, ServiceSettings } from './run-service';
import { serviceModule } from './service-module';

const settings: ServiceSettings = { LOG_LEVEL: 'silent', HTTP_PORT: 0, HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: 1_000 };

describe('serviceModule', () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  it("mounts observability on a registry named for the service, with the app's readiness checks and parts", async () => {
    @Controller('hello')
    class HelloHttpController {
      constructor(@Inject(MetricsRegistry) private readonly registry: MetricsRegistry) {}

      @Get()
      hello() {
        return { metrics: this.registry === registryGiven };
      }
    }
    let registryGiven: MetricsRegistry | undefined;
    const AppModule = serviceModule(({ config }: ServiceContext<ServiceSettings>, registry) => {
      registryGiven = registry;
      registry.counter({ name: 'hello_total', help: 'hellos' }).inc();
      return {
        readiness: [{ name: 'schema', check: () => Promise.reject(new Error(`not on port ${config.HTTP_PORT}`)) }],
        controllers: [HelloHttpController],
        providers: [
          {
            provide: 'CHECK_ADDED',
            inject: [ReadinessChecks],
            useFactory: (checks: ReadinessChecks) => checks.add({ name: 'queue', check: async () => undefined }),
          },
        ],
      };
    });

    app = await NestFactory.create(
      AppModule.register({ config: settings, service: 'hello-api', logger: createLogger({ service: 'hello-api', level: 'silent' }) }),
      {
        logger: false,
      },
    );
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();

    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ metrics: true });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^hello_total\{service="hello-api"\} 1$/m);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      failed: ['schema'],
      checks: { schema: { error: 'not on port 0' }, queue: { status: 'up' } },
    });
  });
});
