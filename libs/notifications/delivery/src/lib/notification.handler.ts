import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type InboundMessage, PermanentError, RetriableError, errorCode, errorMessage, isRetriable } from '@qls/messaging';
import { type Channel, type NotificationRequested, notificationRequestedV1 } from './contracts';
import type { NotificationWorkerMetrics } from './notification.metrics';
import type { NotificationProvider, SendOutcome } from './providers/provider.port';
import type { Lease, SendGuard } from './send-guard';

const tracer = trace.getTracer('@qls/notification-delivery');

export interface NotificationHandlerOptions {
  /**
   * Failed provider attempts after which the notification is dead-lettered
   * (by this handler, with the reason). Crashes, lease waits and shutdowns
   * never count. @defaultValue 3
   */
  readonly maxAttempts?: number;

  readonly metrics?: NotificationWorkerMetrics;
}

/**
 * Handles one `NotificationRequested.v1` message under the port's ack
 * contract: resolve → the message is deleted; retriable error → redelivered
 * with backoff; non-retriable (poison message, rejected by the provider, or
 * the `maxAttempts`-th failed provider attempt) → straight to the DLQ with the
 * reason, after which the consumer calls {@link deadLettered}. The
 * notification row records every outcome first; its `provider_failures`
 * count, not SQS's receive count, decides when a notification is dead-lettered.
 * The queue's own RedrivePolicy is a safety net well above it (ADR 0005).
 */
export class NotificationHandler {
  private readonly maxAttempts: number;

  constructor(
    private readonly guard: SendGuard,
    private readonly providers: ReadonlyMap<Channel, NotificationProvider>,
    private readonly options: NotificationHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  readonly handle = async (message: InboundMessage): Promise<void> => {
    try {
      await this.process(message);
    } catch (error) {
      this.options.metrics?.handlerErrors.inc({ code: errorCode(error) });
      throw error;
    }
  };

  /** The consumer published the message's DLQ copy: the row says so, with the reason (a poison body has no row). */
  readonly deadLettered = async (message: InboundMessage, error: unknown): Promise<void> => {
    let id: string;
    try {
      id = parse(message.body).notificationId;
    } catch {
      return;
    }
    await this.guard.deadLettered(id, `${errorCode(error)}: ${errorMessage(error)}`);
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
      // A lease wait is not a failure: it never counts toward dead-lettering.
      this.options.metrics?.duplicatesSuppressed.inc({ reason: 'busy' });
      throw new RetriableError('NOTIFICATION.IN_PROGRESS', `notification ${request.notificationId} is being sent by another worker`, {
        retryAfterMs: claim.remainingMs + 1_000,
      });
    }
    const { lease } = claim;
    if (lease.providerFailures >= this.maxAttempts) {
      // Its attempts were spent, but its DLQ copy was never confirmed (the worker died,
      // or the copy failed): dead-letter it now, without calling the provider again.
      await this.guard.release(lease);
      throw new PermanentError(codeOf(lease.lastError), reasonOf(lease.lastError));
    }
    // Last check before the provider: a worker paused past its lease must not send.
    // Its message comes back and finds the notification sent, or busy.
    if (!(await this.guard.holds(lease))) {
      this.options.metrics?.duplicatesSuppressed.inc({ reason: 'lease_lost' });
      throw new RetriableError('NOTIFICATION.LEASE_LOST', `lost the lease of ${request.notificationId} before calling the provider`, {
        retryAfterMs: 1_000,
      });
    }
    const renewal = setInterval(() => void this.guard.renew(lease).catch(() => false), this.guard.renewEveryMs);
    let outcome: SendOutcome;
    try {
      outcome = await tracer.startActiveSpan(
        `send ${request.channel}`,
        { kind: SpanKind.CLIENT, attributes: { 'notification.id': request.notificationId, 'notification.channel': request.channel } },
        async (span) => {
          try {
            return await provider.send({
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
      clearInterval(renewal);
      throw await this.failedAttempt(lease, request.channel, error);
    }
    clearInterval(renewal);
    this.options.metrics?.sends.inc({ channel: request.channel, outcome: 'sent' });
    const recorded = await this.guard.sent(lease);
    const redundant = outcome.replayed ? 'replayed' : recorded.alreadySent ? 'already_sent' : recorded.fenced ? undefined : 'lease_lost';
    if (redundant) this.options.metrics?.redundantProviderCalls.inc({ reason: redundant });
  }

  /**
   * Records a failed provider attempt; the error to throw. The
   * `maxAttempts`-th failure becomes permanent (→ the DLQ, with the reason);
   * a failure whose lease was lost meanwhile is not recorded and not counted.
   */
  private async failedAttempt(lease: Lease, channel: Channel, error: unknown): Promise<unknown> {
    const retriable = isRetriable(error);
    this.options.metrics?.sends.inc({ channel, outcome: retriable ? 'transient_failure' : 'permanent_failure' });
    const attempt = lease.providerFailures + 1;
    const last = retriable && attempt >= this.maxAttempts;
    const message = last ? `${attempt} of ${this.maxAttempts} provider attempts failed; last: ${errorMessage(error)}` : errorMessage(error);
    const failures = await this.guard.failed(lease, `${errorCode(error)}: ${message}`);
    if (failures === undefined) {
      return new RetriableError('NOTIFICATION.LEASE_LOST', `lost the lease of ${lease.notificationId} during the provider call`, {
        cause: error,
        retryAfterMs: 1_000,
      });
    }
    return last ? new PermanentError(errorCode(error), message, { cause: error }) : error;
  }
}

/** `CODE: message` as written by {@link NotificationHandler} into `last_error`. */
function codeOf(lastError: string | null): string {
  return /^([A-Z][A-Z0-9_.]*): /.exec(lastError ?? '')?.[1] ?? 'NOTIFICATION.ATTEMPTS_SPENT';
}

function reasonOf(lastError: string | null): string {
  const match = /^[A-Z][A-Z0-9_.]*: (.*)$/s.exec(lastError ?? '');
  return match?.[1] ?? lastError ?? 'its provider attempts were spent';
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
