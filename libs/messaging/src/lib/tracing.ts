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
 * recorded the trace of the request that created it; that trace is the one
 * that must continue downstream, and the send span links to it instead.
 */
export async function withProducerSpan<T>(
  system: 'kafka' | 'aws_sqs',
  destination: string,
  messages: readonly OutboundMessage[],
  send: (stamped: OutboundMessage[]) => Promise<T>,
): Promise<T> {
  const links: Link[] = [];
  for (const message of messages) {
    if (message.headers?.['traceparent'] === undefined) continue;
    const spanContext = trace.getSpanContext(extractTraceContext(message.headers));
    if (spanContext && links.length < 32) links.push({ context: spanContext });
  }
  return tracer.startActiveSpan(
    `send ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'send',
        'messaging.destination.name': destination,
        'messaging.batch.message_count': messages.length,
      },
    },
    async (span) => {
      const stamped = messages.map((message) =>
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
