import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { HealthModule } from './health.module';
import { LoggingModule } from './logging.module';
import { MetricsModule } from './metrics.module';
import type { MetricsRegistry } from './metrics.registry';
import type { ReadinessCheck } from './readiness';

export interface ObservabilityModuleOptions {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /**
   * What `/health/ready` waits for besides the connections (the connection
   * modules add their own checks: a database, a queue, the schema provisioning made).
   * @defaultValue none
   */
  readonly readiness?: readonly ReadinessCheck[];
}

/**
 * What every service mounts, in one import: JSON request logs with trace ids,
 * `GET /metrics`, `GET /health/live` and `GET /health/ready`.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityModuleOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [
        LoggingModule.forRoot(options.logger),
        MetricsModule.forRoot(options.metrics),
        HealthModule.forRoot({ checks: options.readiness ?? [] }),
      ],
    };
  }
}
