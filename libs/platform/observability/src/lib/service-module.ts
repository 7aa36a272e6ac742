import { type DynamicModule, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics.registry';
import { ObservabilityModule } from './observability.module';
import type { ReadinessCheck } from './readiness';
import type { ServiceContext, ServiceSettings } from './run-service';

/** What a service's root module holds besides observability. */
export interface ServiceModuleParts extends Pick<DynamicModule, 'imports' | 'controllers' | 'providers'> {
  /** Readiness checks of the app's own (the connection modules add theirs). */
  readonly readiness?: readonly ReadinessCheck[];
}

/** The root module {@link serviceModule} makes: `AppModule.register(context)` is what `runService` and the tests build. */
export interface ServiceModule<O> {
  register(options: O): DynamicModule;
}

/**
 * A service's root module: observability (JSON logs, `/metrics` on a registry
 * labelled with the service, `/health/*`) and what `parts` returns for the
 * service's context — the connection modules it uses, its background tasks,
 * controllers and providers:
 *
 * ```ts
 * export const AppModule = serviceModule(({ config, service, logger }: ServiceContext<Config>, registry) => ({
 *   imports: [PostgresModule.forRoot({ config, logger }), BackgroundModule.run({ … })],
 *   controllers: [OutboxHttpController],
 * }));
 * ```
 */
export function serviceModule<O extends ServiceContext<ServiceSettings>>(
  parts: (options: O, registry: MetricsRegistry) => ServiceModuleParts,
): ServiceModule<O> {
  @Module({})
  class AppModule {
    static register(options: O): DynamicModule {
      const registry = new MetricsRegistry({ service: options.service });
      const { readiness, imports = [], ...rest } = parts(options, registry);
      return {
        module: AppModule,
        imports: [
          ObservabilityModule.forRoot({ logger: options.logger, metrics: registry, ...(readiness ? { readiness } : {}) }),
          ...imports,
        ],
        ...rest,
      };
    }
  }
  return AppModule;
}
