import type { Logger, MetricsRegistry } from '@qls/observability';
import { type DashboardMetrics, createDashboardMetrics } from './dashboard.metrics';
import { LiveSeriesView } from './live-series.view';

/**
 * The view's bounds: at most MAX_SERIES series and about VIEW_MEMORY_BYTES
 * (fewer series for a long window: 10,000 at the default 60 s, about 500 at
 * an hour), well inside a 256 MiB container. A new series beyond the cap evicts the least recently updated one
 * (`metrics_dashboard_series_evicted_total{reason="capacity"}`). Constants, not
 * variables: the deployment's environment is fixed.
 */
const MAX_SERIES = 10_000;
const VIEW_MEMORY_BYTES = 64 * 1024 * 1024;

export interface DashboardViewOptions {
  readonly windowSeconds: number;
  readonly registry: MetricsRegistry;
  readonly logger: Pick<Logger, 'info'>;
}

/**
 * The dashboard's {@link LiveSeriesView}, bounded for the window (the bounds
 * are logged), and its metrics: the gauge reads the view at scrape time, the
 * view reports evictions to the counter.
 */
export function dashboardView({ windowSeconds, registry, logger }: DashboardViewOptions): {
  readonly view: LiveSeriesView;
  readonly metrics: DashboardMetrics;
} {
  const metrics = createDashboardMetrics(registry, () => view.size);
  const maxSeries = seriesCap(windowSeconds);
  logger.info({ windowSeconds, maxSeries }, 'dashboard view bounds');
  const view = new LiveSeriesView({ windowSeconds, maxSeries, onEvict: (reason, count) => metrics.seriesEvicted.inc({ reason }, count) });
  return { view, metrics };
}

function seriesCap(windowSeconds: number): number {
  return Math.min(MAX_SERIES, Math.floor(VIEW_MEMORY_BYTES / LiveSeriesView.bytesPerSeries(windowSeconds)));
}
