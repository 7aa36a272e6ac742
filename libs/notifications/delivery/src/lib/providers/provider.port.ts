import type { Channel } from '../contracts';

export interface SendRequest {
  readonly notificationId: string;
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly data: Readonly<Record<string, unknown>>;
  /**
   * Passed to the provider so that it drops a repeat (every serious provider
   * API takes one). It closes the gap no fence can: a worker that stalls
   * between its final lease check and the provider call, or dies between the
   * provider's acceptance and recording it, calls the provider again — only
   * the provider, checking this key, can tell the call is a repeat.
   */
  readonly idempotencyKey: string;
}

/** What a provider answered to an accepted send. */
export interface SendOutcome {
  /**
   * The provider had already accepted this idempotency key: this call was
   * redundant (a worker killed after an accepted send, or paused past its
   * lease, sent it before). Providers that do not say so answer false.
   */
  readonly replayed: boolean;
}

/**
 * One delivery channel. `send` resolves once the provider accepted the
 * notification; it throws a `RetriableError` for a transient failure (timeout,
 * 5xx, throttling) and a `PermanentError` when the provider rejected it (bad
 * address, unknown template) — retrying those cannot help.
 */
export interface NotificationProvider {
  readonly channel: Channel;
  send(request: SendRequest): Promise<SendOutcome>;
}
