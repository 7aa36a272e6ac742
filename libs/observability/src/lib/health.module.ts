import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type DynamicModule,
} from '@nestjs/common';
import { DEFAULT_READINESS_TIMEOUT_MS, runReadinessChecks, type ReadinessCheck, type ReadinessReport } from './readiness';

/** Options of {@link HealthModule.forRoot}. */
export interface HealthModuleOptions {
  /** Dependencies that must answer before the service takes traffic. */
  readonly checks: readonly ReadinessCheck[];
  /** Per check. @defaultValue 2000 */
  readonly timeoutMs?: number;
}

const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');

/** Turns unready as soon as the app starts shutting down, before the server stops. */
@Injectable()
export class ReadinessService implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(@Inject(HEALTH_OPTIONS) private readonly options: HealthModuleOptions) {}

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<ReadinessReport> {
    if (this.shuttingDown) {
      return { status: 'unavailable', failed: ['shutdown'], checks: { shutdown: { status: 'down', error: 'shutting down' } } };
    }
    return runReadinessChecks(this.options.checks, this.options.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
  }
}

/**
 * `GET /health/live`: 200 while the process runs (restart it when this fails).
 * `GET /health/ready`: 200 when every readiness check passes, else 503 with the
 * report naming the failed checks (stop routing traffic to it).
 */
@Controller('health')
export class HealthHttpController {
  constructor(@Inject(ReadinessService) private readonly readiness: ReadinessService) {}

  @Get('live')
  live(): { status: 'up' } {
    return { status: 'up' };
  }

  @Get('ready')
  async ready(): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    if (report.status !== 'ready') throw new ServiceUnavailableException(report);
    return report;
  }
}

/** Liveness and readiness endpoints; see {@link HealthHttpController}. */
@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthHttpController],
      providers: [{ provide: HEALTH_OPTIONS, useValue: options }, ReadinessService],
    };
  }
}
