import type { Counter, Gauge, MetricsRegistry } from '@qls/observability';

export interface NotificationWorkerMetrics {
  /** outcome: sent | transient_failure | permanent_failure */
  readonly sends: Counter<'channel' | 'outcome'>;
  /** reason: done (already sent) | busy (another worker holds it) | lease_lost */
  readonly duplicatesSuppressed: Counter<'reason'>;
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
