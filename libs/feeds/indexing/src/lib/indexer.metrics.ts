import type { Counter, Histogram, MetricsRegistry } from '@qls/observability';

/** Metrics of the indexer's consumers, labelled by projection (`search`, `analytics`). */
export interface IndexerMetrics {
  /** Rows the projection inserted, updated or deleted, counted once the write committed. */
  readonly rowsWritten: Counter<'projection'>;
  /** Records read from the `posts` topic. */
  readonly recordsConsumed: Counter<'projection'>;
  /** Duration of a committed projection write. */
  readonly writeDuration: Histogram<'projection'>;
  /** Failed writes retried in place (the partition holds meanwhile). */
  readonly writeFailures: Counter<'projection' | 'reason'>;
  /** Records sent to the dead-letter topic, by error code. */
  readonly deadLettered: Counter<'projection' | 'code'>;
}

export function createIndexerMetrics(registry: MetricsRegistry): IndexerMetrics {
  return {
    rowsWritten: registry.counter({
      name: 'feed_indexer_rows_written_total',
      help: 'Rows of a projection (post_search, post_analytics) inserted, updated or deleted, counted once committed',
      labelNames: ['projection'],
    }),
    recordsConsumed: registry.counter({
      name: 'feed_indexer_records_consumed_total',
      help: 'Records read from the posts topic by an indexer consumer group',
      labelNames: ['projection'],
    }),
    writeDuration: registry.histogram({
      name: 'feed_indexer_write_duration_seconds',
      help: 'Duration of a committed projection write (one statement per batch)',
      labelNames: ['projection'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    writeFailures: registry.counter({
      name: 'feed_indexer_write_failures_total',
      help: 'Projection writes that failed and are retried with backoff while the partition holds (reason: SQLSTATE or error code)',
      labelNames: ['projection', 'reason'],
    }),
    deadLettered: registry.counter({
      name: 'feed_indexer_dead_lettered_total',
      help: 'Records sent to the dead-letter topic with the reason, by error code',
      labelNames: ['projection', 'code'],
    }),
  };
}
