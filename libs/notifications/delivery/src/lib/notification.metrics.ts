import type { Counter, Gauge, MetricsRegistry } from '@qls/observability';

export interface NotificationWorkerMetrics {
  /** outcome: sent | transient_failure | permanent_failure */
  readonly sends: Counter<'channel' | 'outcome'>;
  /** reason: done (already sent) | busy (another worker holds it) | lease_lost */
  readonly duplicatesSuppressed: Counter<'reason'>;
  /**
   * Provider calls the fence did not prevent — reason: replayed (the provider
   * had accepted the idempotency key before: a worker died after an accepted
   * send), already_sent (recorded sent by another worker meanwhile), lease_lost
   * (the caller's lease ended during the call: it was paused).
   */
  readonly redundantProviderCalls: Counter<'reason'>;
  /** Rows the reconciler settled — action: dead_lettered (found in the DLQ) | requeued (message gone). */
  readonly reconciled: Counter<'action'>;
  readonly handlerErrors: Counter<'code'>;
  /** 0 closed, 1 half-open, 2 open */
  readonly circuitState: Gauge<'channel'>;
  readonly queueVisible: Gauge<'queue'>;
  readonly queueInFlight: Gauge<'queue'>;
  /** Age of the last message received (from SentTimestamp): SQS has no age-of-oldest attribute. */
  readonly messageAge: Gauge<'queue'>;
}

export function createNotificationWorkerMetrics(registry: MetricsRegistry): NotificationWorkerMetrics {
  return {
    sends: registry.counter({
      name: 'notification_sends_total',
      help: 'Provider sends by channel and outcome',
      labelNames: ['channel', 'outcome'],
    }),
    duplicatesSuppressed: registry.counter({
      name: 'notification_duplicates_suppressed_total',
      help: 'Deliveries acknowledged without sending, by reason',
      labelNames: ['reason'],
    }),
    redundantProviderCalls: registry.counter({
      name: 'notification_redundant_provider_calls_total',
      help: 'Provider calls for a notification already delivered or whose lease was lost during the call, by reason',
      labelNames: ['reason'],
    }),
    reconciled: registry.counter({
      name: 'notification_reconciled_total',
      help: 'Notifications whose status the reconciler repaired, by action',
      labelNames: ['action'],
    }),
    handlerErrors: registry.counter({
      name: 'notification_handler_errors_total',
      help: 'Failed message handlings by error code',
      labelNames: ['code'],
    }),
    circuitState: registry.gauge({
      name: 'notification_provider_circuit_state',
      help: '0 closed, 1 half-open, 2 open',
      labelNames: ['channel'],
    }),
    queueVisible: registry.gauge({ name: 'sqs_queue_visible_messages', help: 'ApproximateNumberOfMessages', labelNames: ['queue'] }),
    queueInFlight: registry.gauge({
      name: 'sqs_queue_in_flight_messages',
      help: 'ApproximateNumberOfMessagesNotVisible',
      labelNames: ['queue'],
    }),
    messageAge: registry.gauge({
      name: 'sqs_queue_received_message_age_seconds',
      help: 'Age of the most recently received message (SentTimestamp to receive)',
      labelNames: ['queue'],
    }),
  };
}
