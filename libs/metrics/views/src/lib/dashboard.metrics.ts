import type { Counter, Gauge, MetricsRegistry } from '@qls/observability';

export interface DashboardMetrics {
  /** Records read from the metrics topic. */
  readonly recordsConsumed: Counter;
  /** Records that are not a metric point, skipped (reason: not-json, schema). */
  readonly recordsInvalid: Counter<'reason'>;
  /** Valid points dropped because their event time is outside the window (reason: late, future). */
  readonly pointsOutsideWindow: Counter<'reason'>;
  /** Points dropped because their series already had a point at their timestamp (the first counts). */
  readonly pointsDuplicate: Counter;
  /** Series held now (read at every scrape). */
  readonly seriesHeld: Gauge;
  /** Series that left the view (reason: expired = their window emptied, capacity = the series cap). */
  readonly seriesEvicted: Counter<'reason'>;
}

/**
 * The dashboard's metrics; `seriesHeld` is asked at each scrape. (Consumer
 * rebalances are `kafka_consumer_rebalances_total`, from countRebalances.)
 */
export function createDashboardMetrics(registry: MetricsRegistry, seriesHeld: () => number): DashboardMetrics {
  return {
    recordsConsumed: registry.counter({
      name: 'metrics_dashboard_records_consumed_total',
      help: 'Records read from the metrics topic by the dashboard consumer',
    }),
    recordsInvalid: registry.counter({
      name: 'metrics_dashboard_records_invalid_total',
      help: 'Records that are not a valid metric point, counted and skipped (reason: not-json, schema)',
      labelNames: ['reason'],
    }),
    pointsOutsideWindow: registry.counter({
      name: 'metrics_dashboard_points_outside_window_total',
      help: 'Points dropped because their event time is older than the window or too far ahead of the clock (reason: late, future)',
      labelNames: ['reason'],
    }),
    pointsDuplicate: registry.counter({
      name: 'metrics_dashboard_points_duplicate_total',
      help: 'Points dropped because their series already had a point at their timestamp (a retried POST /metrics): the first one counts',
    }),
    seriesHeld: registry.gauge({
      name: 'metrics_dashboard_series',
      help: 'Series held in the live view',
      collect() {
        this.set(seriesHeld());
      },
    }),
    seriesEvicted: registry.counter({
      name: 'metrics_dashboard_series_evicted_total',
      help: 'Series removed from the live view (reason: expired = no point left in the window, capacity = the series cap)',
      labelNames: ['reason'],
    }),
  };
}
