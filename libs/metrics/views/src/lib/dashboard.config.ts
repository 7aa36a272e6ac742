import { z } from 'zod';
import { METRICS_RAW_TOPIC } from '@qls/metrics-contracts';

/**
 * Longest window. Every series holds a ring of one bucket per second of it
 * (see LiveSeriesView), so the longer the window, the fewer series fit in the
 * view's memory budget.
 */
export const MAX_WINDOW_SECONDS = 3_600;

/** Dashboard settings from the environment (read by libs/platform/config's loadConfig); every one has a default. */
export const metricsDashboardEnv = {
  /** The dashboard's consumer group (the third on the topic, beside storage and alerting). */
  DASHBOARD_GROUP_ID: z.string().min(1).default('dashboard'),
  /** Topic the points are read from. */
  METRICS_TOPIC: z.string().min(1).default(METRICS_RAW_TOPIC),
  /** Each series shows its points of the last this many seconds of event time. */
  DASHBOARD_WINDOW_SECONDS: z.coerce
    .number({ error: 'expected a number' })
    .int('expected an integer')
    .min(1)
    .max(MAX_WINDOW_SECONDS)
    .default(60),
};
