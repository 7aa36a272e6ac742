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

/**
 * What `/health/ready` waits for: the app's own checks, then those the
 * connection modules add as they are built (`PostgresModule`, `RedisModule`,
 * `SqsModule`, `KafkaModule`). Injected by class (HealthModule is global).
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks: ReadinessCheck[] = [];

  add(...checks: readonly ReadinessCheck[]): void {
    this.checks.push(...checks);
  }

  list(): readonly ReadinessCheck[] {
    return this.checks;
  }
}

/** Turns unready as soon as the app starts shutting down, before the server stops. */
@Injectable()
export class ReadinessService implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(
    @Inject(HEALTH_OPTIONS) private readonly options: HealthModuleOptions,
    @Inject(ReadinessChecks) private readonly checks: ReadinessChecks,
  ) {}

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<ReadinessReport> {
    if (this.shuttingDown) {
      return { status: 'unavailable', failed: ['shutdown'], checks: { shutdown: { status: 'down', error: 'shutting down' } } };
    }
    return runReadinessChecks(this.checks.list(), this.options.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
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

/**
 * Liveness and readiness endpoints; see {@link HealthHttpController}. Global:
 * provides {@link ReadinessChecks}, where connection modules add theirs.
 */
@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions): DynamicModule {
    const checks = new ReadinessChecks();
    checks.add(...options.checks);
    return {
      module: HealthModule,
      global: true,
      controllers: [HealthHttpController],
      providers: [{ provide: HEALTH_OPTIONS, useValue: options }, { provide: ReadinessChecks, useValue: checks }, ReadinessService],
      exports: [ReadinessChecks],
    };
  }
}
