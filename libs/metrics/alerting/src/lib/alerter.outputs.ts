import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { KafkaMessage, Message } from 'kafkajs';
import { deadLetterRecord } from '@qls/kafka';
import { Headers, type OutboundMessage, PermanentError, errorMessage, extractTraceContext, injectTraceContext } from '@qls/messaging';
import type { AlertTransition, LateEvent } from '@qls/metrics-windowing';
import type { OutboxEvent } from '@qls/outbox';
import { ALERT_TRANSITION_EVENT, toAlertEvent } from './alert-event';

/** What the alerter writes besides its state: alert transitions (outbox rows), late points, unreadable records. */

const tracer = trace.getTracer('@qls/metrics-alerting');

/**
 * The outbox row of an alert transition, to `alertsTopic`. Each gets an
 * `alert <status>` span, child of the trace of the point that closed its
 * window, so the trace runs from the ingest request through the alert to its
 * notification.
 */
export function alertOutboxEvent(alert: AlertTransition, alertsTopic: string): OutboxEvent {
  const parent = alert.context ? extractTraceContext({ traceparent: alert.context }) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    `alert ${alert.status}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: { 'alert.rule': alert.rule, 'alert.fingerprint': alert.fingerprint, 'alert.status': alert.status },
    },
    parent,
  );
  span.end();
  return {
    aggregateType: 'alert',
    aggregateId: alert.fingerprint,
    eventType: ALERT_TRANSITION_EVENT,
    payload: toAlertEvent(alert),
    destination: { kafka: alertsTopic },
    key: alert.fingerprint,
    headers: injectTraceContext({ [Headers.eventId]: alert.id }, trace.setSpan(parent, span)),
  };
}

/** The side-output record of a point later than the allowed lateness, naming where it came from in `topic`. */
export function lateRecord(event: LateEvent, topic: string): OutboundMessage {
  return {
    key: event.point.serviceId,
    body: JSON.stringify({ schemaVersion: 1, ...event.point }),
    headers: {
      [Headers.errorCode]: 'ALERTER.LATE_EVENT',
      [Headers.errorReason]: `${event.reason}: ${event.lateByMs} ms behind the watermark ${new Date(event.watermark).toISOString()}`,
      [Headers.originalSource]: `${topic}/${event.partition}/${event.offset ?? ''}`,
      'late-by-ms': String(event.lateByMs),
    },
  };
}

/** The dead letter of a record that is not a metric point, byte for byte with the reason. */
export function unreadableRecord(
  source: { readonly topic: string; readonly partition: number },
  message: KafkaMessage,
  error: unknown,
): Message {
  return deadLetterRecord(source, message, new PermanentError('ALERTER.UNREADABLE_RECORD', errorMessage(error)));
}
