import { SignJWT, importJWK } from 'jose';
import type { InboundMessage } from '@qls/messaging';
import { PermanentError, RetriableError, injectTraceContext } from '@qls/messaging';
import { type AlertEvent, type AlertStatus, parseAlertEvent } from '@qls/metrics-contracts';

export interface AlertNotifierOptions {
  /** Base URL of the notification API, e.g. http://notification-api:3000. */
  readonly notificationApiUrl: string;
  /** Who is paged: the notification's userId (and the `sub` of the token minted for it). */
  readonly recipientUserId: string;
  readonly channel: 'push' | 'email' | 'sms';
  /** Transitions that become notifications. @defaultValue firing and resolved */
  readonly notifyOn?: readonly AlertStatus[];
  /** Private JWK (JSON) the notifier signs its short-lived tokens with; the API trusts its public half. */
  readonly signingKey: string;
  readonly issuer: string;
  readonly audience: string;
  readonly timeoutMs?: number;
}

export type NotifyOutcome = 'notified' | 'already_notified' | 'ignored';

/**
 * Turns alert transitions from `alerts` into notifications through the
 * notification API. The Idempotency-Key is the transition id
 * (fingerprint:activeAt:status), so a redelivered or replayed alert returns
 * the first notification instead of paging twice.
 */
export class AlertNotifier {
  private token: { value: string; refreshAt: number } | undefined;

  constructor(private readonly options: AlertNotifierOptions) {}

  /** The `KafkaConsumer` handler: resolves when the notification exists; throws Retriable/Permanent errors. */
  readonly handle = async (message: InboundMessage): Promise<NotifyOutcome> => {
    let alert: AlertEvent;
    try {
      alert = parseAlertEvent(message.body);
    } catch (error) {
      throw new PermanentError('ALERT.UNREADABLE', `alert record is not an AlertEvent v1: ${(error as Error).message}`);
    }
    if (!(this.options.notifyOn ?? ['firing', 'resolved']).includes(alert.status)) return 'ignored';
    return this.notify(alert);
  };

  private async notify(alert: AlertEvent): Promise<NotifyOutcome> {
    let response: Response;
    try {
      response = await fetch(new URL('/notifications', this.options.notificationApiUrl), {
        method: 'POST',
        headers: injectTraceContext({
          'content-type': 'application/json',
          authorization: `Bearer ${await this.bearer()}`,
          'idempotency-key': alert.id,
        }),
        body: JSON.stringify({
          userId: this.options.recipientUserId,
          channel: this.options.channel,
          template: `alert-${alert.status}`,
          data: {
            fingerprint: alert.fingerprint,
            rule: alert.rule,
            severity: alert.severity,
            serviceId: alert.serviceId,
            metric: alert.metric,
            labels: alert.labels,
            value: alert.value,
            activeAt: new Date(alert.activeAt).toISOString(),
            at: new Date(alert.at).toISOString(),
            summary: alert.summary,
          },
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
    } catch (cause) {
      throw new RetriableError('ALERT.NOTIFY_UNREACHABLE', `notification API unreachable: ${(cause as Error).message}`, { cause });
    }
    const text = await response.text();
    if (response.status === 202) return 'notified';
    // 200 = the stored answer of an earlier request with this key; 409 = the key was used with another body.
    if (response.status === 200 || response.status === 409) return 'already_notified';
    const reason = `notification API answered ${response.status}: ${text.slice(0, 300)}`;
    if (response.status === 429 || response.status >= 500 || response.status === 401) {
      if (response.status === 401) this.token = undefined;
      throw new RetriableError('ALERT.NOTIFY_FAILED', reason, { context: { status: response.status } });
    }
    throw new PermanentError('ALERT.NOTIFY_REJECTED', reason, { context: { status: response.status } });
  }

  /** A token for the recipient, valid 5 minutes, renewed a minute before it expires. */
  private async bearer(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return this.token.value;
    const jwk = JSON.parse(this.options.signingKey) as Record<string, unknown> & { alg?: string; kid?: string };
    const alg = jwk.alg ?? (jwk['kty'] === 'RSA' ? 'RS256' : 'ES256');
    const key = await importJWK(jwk, alg);
    const value = await new SignJWT({})
      .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}) })
      .setSubject(this.options.recipientUserId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
    this.token = { value, refreshAt: Date.now() + 4 * 60_000 };
    return value;
  }
}
