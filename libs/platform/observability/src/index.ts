// Telemetry first: see startTelemetry for why nothing here may load an
// instrumented module (pg, ioredis) at import time.
export { shutdownTelemetry, startTelemetry } from './lib/telemetry';
export type { TelemetryOptions } from './lib/telemetry';

export { createLogger } from './lib/logger.factory';
export type { LoggerOptions } from './lib/logger.factory';
export type { Logger } from 'pino';
export { LoggingModule, NEST_LOGGER } from './lib/logging.module';

export { MetricsRegistry } from './lib/metrics.registry';
export type { MetricOptions, MetricsRegistryOptions } from './lib/metrics.registry';
export { MetricsHttpController, MetricsModule } from './lib/metrics.module';
export type { Counter, Gauge, Histogram } from 'prom-client';

export { postgresReadiness, runReadinessChecks } from './lib/readiness';
export type { CheckResult, Queryable, ReadinessCheck, ReadinessReport } from './lib/readiness';
export { HealthHttpController, HealthModule, ReadinessChecks } from './lib/health.module';
export type { HealthModuleOptions } from './lib/health.module';

export { enableGracefulShutdown } from './lib/graceful-shutdown';
export { ObservabilityModule } from './lib/observability.module';
export type { ObservabilityModuleOptions } from './lib/observability.module';
export { BackgroundModule, concurrentTasks } from './lib/background.module';
export type { BackgroundModuleOptions, BackgroundTask } from './lib/background.module';
export { fromInjected, isFromInjected, typedToken } from './lib/injection';
export type { FromInjected, Injected, Token, TypedToken } from './lib/injection';
export { serviceModule } from './lib/service-module';
export type { ServiceModule, ServiceModuleParts } from './lib/service-module';
export { createNestApp, runService } from './lib/run-service';
export type { ServiceContext, ServiceSettings } from './lib/run-service';
export type { GracefulShutdownOptions } from './lib/graceful-shutdown';
