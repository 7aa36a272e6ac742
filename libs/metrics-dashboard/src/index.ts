export { MAX_WINDOW_SECONDS, metricsDashboardEnv } from './lib/dashboard.config';
export { MetricsDashboardConsumer } from './lib/dashboard.consumer';
export type { MetricsDashboardConsumerOptions } from './lib/dashboard.consumer';
export { createDashboardMetrics } from './lib/dashboard.metrics';
export type { DashboardMetrics } from './lib/dashboard.metrics';
export { DashboardQueryError, parseDashboardQuery } from './lib/dashboard.query';
export type { SeriesFilter } from './lib/dashboard.query';
export { DEFAULT_MAX_SERIES, LiveSeriesView } from './lib/live-series.view';
export type { AddOutcome, EvictionReason, LiveSeriesViewOptions, SeriesStats, ServiceSummary } from './lib/live-series.view';
