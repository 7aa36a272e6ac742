import { type Context, type Link, type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { errorCode, errorMessage } from './errors';
import type { InboundMessage, OutboundMessage } from './message.port';

const tracer = trace.getTracer('@qls/messaging');

/** Writes the W3C trace context of `ctx` into a copy of `headers`. */
export function injectTraceContext(
  headers: Readonly<Record<string, string>> = {},
  ctx: Context = context.active(),
): Record<string, string> {
  const carrier: Record<string, string> = { ...headers };
  propagation.inject(ctx, carrier);
  return carrier;
}

export function extractTraceContext(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(context.active(), headers);
}

/**
 * One PRODUCER span around a publish. Each message is stamped with the span's
 * context unless it already carries a `traceparent` — e.g. an outbox row that
 * recorded the trace of the request that created it. That trace is the one
 * that must continue downstream: it gets a `create` span inside it
 * (OpenTelemetry's messaging conventions for batches; one per recorded
 * context, shared by its messages), the messages are stamped with that span's
 * context, and the send span links to it. So one
 * trace reads request → relay → consumer, while one send carries many traces.
 */
export async function withProducerSpan<T>(
  system: 'kafka' | 'aws_sqs',
  destination: string,
  messages: readonly OutboundMessage[],
  send: (stamped: OutboundMessage[]) => Promise<T>,
): Promise<T> {
  const attributes = { 'messaging.system': system, 'messaging.destination.name': destination };
  const links: Link[] = [];
  // One create span per recorded context: the messages of one request stay together downstream.
  const createdFor = new Map<string, Context | undefined>();
  const createIn = (headers: Readonly<Record<string, string>>): Context | undefined => {
    const origin = extractTraceContext(headers);
    if (trace.getSpanContext(origin) === undefined) return undefined;
    const create = tracer.startSpan(
      `create ${destination}`,
      { kind: SpanKind.PRODUCER, attributes: { ...attributes, 'messaging.operation.type': 'create' } },
      origin,
    );
    create.end();
    if (links.length < 32) links.push({ context: create.spanContext() });
    return trace.setSpan(origin, create);
  };
  const created = messages.map((message) => {
    const traceparent = message.headers?.['traceparent'];
    if (message.headers === undefined || traceparent === undefined) return message;
    if (!createdFor.has(traceparent)) createdFor.set(traceparent, createIn(message.headers));
    const ctx = createdFor.get(traceparent);
    return ctx === undefined ? message : { ...message, headers: injectTraceContext(message.headers, ctx) };
  });
  return tracer.startActiveSpan(
    `send ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: { ...attributes, 'messaging.operation.type': 'send', 'messaging.batch.message_count': messages.length },
    },
    async (span) => {
      const stamped = created.map((message) =>
        message.headers?.['traceparent'] === undefined ? { ...message, headers: injectTraceContext(message.headers) } : message,
      );
      return endSpan(span, () => send(stamped));
    },
  );
}

/** One CONSUMER span per handled message, child of the trace the message carries. */
export async function withConsumerSpan<T>(message: InboundMessage, handle: () => Promise<T>): Promise<T> {
  const parent = extractTraceContext(message.headers);
  const destination = message.source.system === 'kafka' ? message.source.topic : (message.source.queueUrl.split('/').pop() ?? '');
  return tracer.startActiveSpan(
    `process ${destination}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': message.source.system === 'kafka' ? 'kafka' : 'aws_sqs',
        'messaging.operation.type': 'process',
        'messaging.destination.name': destination,
        'messaging.message.id': message.id,
        ...(message.key === undefined ? {} : { 'messaging.kafka.message.key': message.key }),
        'messaging.delivery.attempt': message.attempt,
      },
    },
    parent,
    (span) => endSpan(span, handle),
  );
}

async function endSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    span.setAttribute('error.type', errorCode(error));
    throw error;
  } finally {
    span.end();
  }
}
