import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthModule, ReadinessChecks } from './health.module';
import { type ReadinessReport, runReadinessChecks } from './readiness';

/** What {@link startModules} returns. */
export interface ModuleContext {
  readonly app: INestApplicationContext;
  /** Runs the readiness checks the modules added, as `/health/ready` does. */
  readiness(timeoutMs?: number): Promise<ReadinessReport>;
  /** Shuts the context down (once: later calls wait for the first). */
  close(): Promise<void>;
}

/**
 * A Nest application context of `imports` beside the health module (where the
 * connection modules add their readiness checks), for the platform modules'
 * specs: no HTTP server, Nest's own logs off.
 */
export async function startModules(...imports: DynamicModule[]): Promise<ModuleContext> {
  const app = await NestFactory.createApplicationContext(
    { module: class ModulesUnderTest {}, imports: [HealthModule.forRoot({ checks: [] }), ...imports] },
    { logger: false },
  );
  let closed: Promise<void> | undefined;
  return {
    app,
    readiness: (timeoutMs = 2_000) => runReadinessChecks(app.get(ReadinessChecks).list(), timeoutMs),
    close: () => (closed ??= app.close()),
  };
}
