/**
 * Starts OpenTelemetry. main.ts imports this module first, before Nest, pg or
 * anything else is loaded: instrumentation patches modules as they are
 * required, so whatever loads earlier goes untraced (see startTelemetry).
 */
import { startTelemetry } from '@qls/observability';

export const serviceName = 'feed-fanout-worker';

startTelemetry({ serviceName });
