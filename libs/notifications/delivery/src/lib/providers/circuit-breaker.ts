import CircuitBreaker from 'opossum';
import { RetriableError } from '@qls/messaging';
import type { NotificationProvider, SendOutcome, SendRequest } from './provider.port';

export type CircuitState = 'closed' | 'half-open' | 'open';

export interface BreakerOptions {
  /** Failure percentage over the rolling window that opens the circuit. @defaultValue 50 */
  readonly errorThresholdPercentage?: number;
  /** Sends in the window before the percentage counts. @defaultValue 20 */
  readonly volumeThreshold?: number;
  /** How long it stays open before one trial send. @defaultValue 10_000 */
  readonly resetTimeoutMs?: number;
  readonly onStateChange?: (channel: string, state: CircuitState) => void;
}

/**
 * Wraps a provider in a circuit breaker (opossum): when most recent sends
 * failed, it stops calling the provider for a while and fails fast with a
 * retriable error, so the messages go back to the queue with backoff instead
 * of hammering a provider that is down. Permanent rejections (a bad address)
 * are the caller's fault and do not count against the provider.
 */
export class BreakerProvider implements NotificationProvider {
  readonly channel: NotificationProvider['channel'];
  private readonly breaker: CircuitBreaker<[SendRequest], SendOutcome>;

  constructor(provider: NotificationProvider, options: BreakerOptions = {}) {
    this.channel = provider.channel;
    this.breaker = new CircuitBreaker((request: SendRequest) => provider.send(request), {
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 20,
      resetTimeout: options.resetTimeoutMs ?? 10_000,
      // No breaker timeout: a send abandoned here could still succeed at the
      // provider, and retrying it would send twice. Time limits belong to the
      // provider client, which knows whether a request may have landed.
      timeout: false,
      errorFilter: (error: unknown) => (error as { retriable?: boolean }).retriable === false,
    });
    const report = (state: CircuitState) => () => options.onStateChange?.(this.channel, state);
    this.breaker.on('open', report('open'));
    this.breaker.on('halfOpen', report('half-open'));
    this.breaker.on('close', report('closed'));
  }

  get state(): CircuitState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async send(request: SendRequest): Promise<SendOutcome> {
    try {
      return await this.breaker.fire(request);
    } catch (error) {
      if ((error as { code?: string }).code === 'EOPENBREAKER') {
        throw new RetriableError('PROVIDER.CIRCUIT_OPEN', `${this.channel} provider circuit is open; not calling it`, { cause: error });
      }
      throw error;
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}
