import type { MetricsRegistry } from '@qls/observability';

/** What the windowed alerter reports (README "System 2" lists the alert rules on them). */
export function createAlerterMetrics(registry: MetricsRegistry) {
  return {
    records: registry.counter<'outcome'>({
      name: 'alerter_records_total',
      help: 'Records read from the input topic, by outcome (processed, duplicate — a point of a series and timestamp already counted —, late, partially_late, dead_lettered, skipped_replayed).',
      labelNames: ['outcome'],
    }),
    alerts: registry.counter<'status' | 'rule'>({
      name: 'alerter_alerts_total',
      help: 'Alert transitions committed (pending, firing, resolved), by rule.',
      labelNames: ['status', 'rule'],
    }),
    watermarkDelay: registry.gauge({
      name: 'alerter_watermark_delay_seconds',
      help: 'Wall clock minus the global event-time watermark: how far behind real time windows close.',
    }),
    openWindows: registry.gauge({ name: 'alerter_open_windows', help: 'Windows open across the owned partitions.' }),
    series: registry.gauge({ name: 'alerter_series', help: 'Series (service, metric, label set) held in state.' }),
    ownedPartitions: registry.gauge({ name: 'alerter_owned_partitions', help: 'Partitions this member owns and has restored.' }),
    checkpointSeconds: registry.histogram({
      name: 'alerter_checkpoint_duration_seconds',
      help: 'Time to write one checkpoint (state + offsets + alerts in one transaction).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    checkpointFailures: registry.gauge({
      name: 'alerter_checkpoint_consecutive_failures',
      help: 'Checkpoints failed in a row (side outputs not published or the transaction failed); 0 after one succeeds. Alerted on (infra/alerts/metrics-alerter.rules.yml).',
    }),
    checkpointBytes: registry.gauge({ name: 'alerter_checkpoint_bytes', help: 'Size of the last checkpoint state (JSON).' }),
    restores: registry.counter<'source'>({
      name: 'alerter_partition_restores_total',
      help: 'Partitions restored on assignment, by source (checkpoint or fresh).',
      labelNames: ['source'],
    }),
    fenced: registry.counter({
      name: 'alerter_fenced_total',
      help: 'Checkpoints refused because a newer assignment claimed the partition (this member was stale).',
    }),
    rebalances: registry.counter({ name: 'alerter_rebalances_total', help: 'Group joins (each one is a rebalance) seen by this member.' }),
  };
}

export type AlerterMetrics = ReturnType<typeof createAlerterMetrics>;
