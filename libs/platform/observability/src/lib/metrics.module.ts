import { Controller, Get, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { Registry } from 'prom-client';
import { MetricsRegistry } from './metrics.registry';

/** `GET /metrics` for Prometheus. */
@Controller('metrics')
export class MetricsHttpController {
  constructor(@Inject(MetricsRegistry) private readonly metrics: MetricsRegistry) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}

/**
 * Serves `registry` at `GET /metrics` and provides it (token: the
 * `MetricsRegistry` class) to every module, so providers inject it and create
 * their metrics on it.
 */
@Module({})
export class MetricsModule {
  static forRoot(registry: MetricsRegistry): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsHttpController],
      providers: [{ provide: MetricsRegistry, useValue: registry }],
      exports: [MetricsRegistry],
    };
  }
}
