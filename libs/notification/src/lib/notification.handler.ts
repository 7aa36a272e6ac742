import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type InboundMessage, PermanentError, RetriableError, errorCode, errorMessage, isRetriable } from '@qls/messaging';
import { type Channel, type NotificationRequested, notificationRequestedV1 } from './contracts';
import type { NotificationWorkerMetrics } from './notification.metrics';
import type { NotificationProvider } from './providers/provider.port';
import type { SendGuard } from './send-guard';

const tracer = trace.getTracer('@qls/notification');

export interface NotificationHandlerOptions {
  /** The queue's RedrivePolicy maxReceiveCount: a transient failure on this receive is the last. @defaultValue 3 */
  readonly maxReceives?: number;

  readonly metrics?: NotificationWorkerMetrics;
}

/**
 * Handles one `NotificationRequested.v1` message under the port's ack
 * contract: resolve → the message is deleted; retriable error → redelivered
 * with backoff (and dead-lettered by the queue after `maxReceives`);
 * non-retriable (poison message, rejected by the provider) → straight to the
 * DLQ with the reason. The notification row records every outcome first.
 */
export class NotificationHandler {
  private readonly maxReceives: number;

  constructor(
    private readonly guard: SendGuard,
    private readonly providers: ReadonlyMap<Channel, NotificationProvider>,
    private readonly options: NotificationHandlerOptions = {},
  ) {
    this.maxReceives = options.maxReceives ?? 3;
  }

  readonly handle = async (message: InboundMessage): Promise<void> => {
    try {
      await this.process(message);
    } catch (error) {
      this.options.metrics?.handlerErrors.inc({ code: errorCode(error) });
      throw error;
    }
  };

  private async process(message: InboundMessage): Promise<void> {
    const request = parse(message.body);
    const provider = this.providers.get(request.channel);
    if (!provider) throw new PermanentError('NOTIFICATION.NO_PROVIDER', `no provider for channel ${request.channel}`);

    const claim = await this.guard.claim(request.notificationId);
    if (claim.kind === 'done') {
      this.options.metrics?.duplicatesSuppressed.inc({ reason: 'done' });
      return;
    }
    if (claim.kind === 'busy') {
      // Another worker is sending it. Come back when its lease ends: by then it is
      // sent (→ acknowledged as done) or that worker died (→ this copy sends it).
      this.options.metrics?.duplicatesSuppressed.inc({ reason: 'busy' });
      throw new RetriableError('NOTIFICATION.IN_PROGRESS', `notification ${request.notificationId} is being sent by another worker`, {
        retryAfterMs: claim.remainingMs + 1_000,
      });
    }
    const { lease } = claim;
    // Last check before the provider: a worker paused past its lease must not send.
    if (!(await this.guard.holds(lease))) {
      this.options.metrics?.duplicatesSuppressed.inc({ reason: 'lease_lost' });
      return;
    }
    const renewal = setInterval(() => void this.guard.renew(lease).catch(() => false), this.guard.renewEveryMs);
    try {
      await tracer.startActiveSpan(
        `send ${request.channel}`,
        { kind: SpanKind.CLIENT, attributes: { 'notification.id': request.notificationId, 'notification.channel': request.channel } },
        async (span) => {
          try {
            await provider.send({
              notificationId: request.notificationId,
              userId: request.userId,
              channel: request.channel,
              template: request.template,
              data: request.data,
              idempotencyKey: request.notificationId,
            });
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    } catch (error) {
      const last = !isRetriable(error) || message.attempt >= this.maxReceives;
      this.options.metrics?.sends.inc({
        channel: request.channel,
        outcome: isRetriable(error) ? 'transient_failure' : 'permanent_failure',
      });
      await this.guard.failed(lease, `${errorCode(error)}: ${errorMessage(error)}`, last ? 'dead_lettered' : 'failed');
      throw error;
    } finally {
      clearInterval(renewal);
    }
    this.options.metrics?.sends.inc({ channel: request.channel, outcome: 'sent' });
    await this.guard.sent(lease);
  }
}

/** A body that is not JSON, has an unknown schema version or misses fields is poison: DLQ, never retried. */
export function parse(body: string): NotificationRequested {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PermanentError('NOTIFICATION.POISON', 'message body is not JSON');
  }
  const parsed = notificationRequestedV1.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw new PermanentError('NOTIFICATION.POISON', `not a NotificationRequested.v1 message: ${problems}`);
}
