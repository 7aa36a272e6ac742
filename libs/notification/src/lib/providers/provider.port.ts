import type { Channel } from '../contracts';

export interface SendRequest {
  readonly notificationId: string;
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly data: Readonly<Record<string, unknown>>;
  /**
   * Passed to the provider so that it drops a repeat (every serious provider
   * API takes one). It closes the last gap the worker's fence cannot: a worker
   * that stalls between its final lease check and the provider call.
   */
  readonly idempotencyKey: string;
}

/**
 * One delivery channel. `send` resolves once the provider accepted the
 * notification; it throws a `RetriableError` for a transient failure (timeout,
 * 5xx, throttling) and a `PermanentError` when the provider rejected it (bad
 * address, unknown template) — retrying those cannot help.
 */
export interface NotificationProvider {
  readonly channel: Channel;
  send(request: SendRequest): Promise<void>;
}
