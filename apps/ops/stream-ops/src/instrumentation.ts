/**
 * Starts OpenTelemetry. main.ts imports this module first, before Nest, the
 * Kafka client or anything else is loaded: instrumentation patches modules as
 * they are required, so whatever loads earlier goes untraced (see startTelemetry).
 */
import { startTelemetry } from '@qls/observability';

export const serviceName = 'stream-ops';

startTelemetry({ serviceName });
