// Test doubles for @qls/observability: import from '@qls/observability/testing' in specs only.
export { captureLogs } from './lib/log-capture';
export type { LogCapture } from './lib/log-capture';
export { startTestTelemetry } from './lib/test-telemetry';
export type { TestTelemetry } from './lib/test-telemetry';
export { startModules } from './lib/module-context';
export type { ModuleContext } from './lib/module-context';
