/**
 * One error taxonomy for every handler and adapter. An error carries a stable
 * string `code` (`FEED.POST_NOT_FOUND`), whether retrying can help, and its
 * cause. HTTP status mapping happens only at the controller edge.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown; context?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options?.context ?? {};
  }

  /** Where it happened: topic, partition, queueUrl, messageIds... */
  readonly context: Record<string, unknown>;
}

/** The same message may succeed later (broker unavailable, provider timeout, lock held). */
export class RetriableError extends AppError {
  /** When the caller knows how long to wait (a lease expiring, a Retry-After), adapters use it instead of their backoff. */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; context?: Record<string, unknown>; retryAfterMs?: number }) {
    super(code, message, true, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Retrying the same message can never succeed (bad payload, unknown schema version, rejected by the provider). */
export class PermanentError extends AppError {
  constructor(code: string, message: string, options?: { cause?: unknown; context?: Record<string, unknown> }) {
    super(code, message, false, options);
  }
}

/**
 * Programming errors (TypeError, RangeError, SyntaxError from JSON.parse...) are
 * never retried: the code will fail the same way again. Unknown errors are
 * assumed transient, which is the safe side for at-least-once delivery.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof AppError) return error.retriable;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false;
  return true;
}

export function errorCode(error: unknown): string {
  if (error instanceof AppError) return error.code;
  if (error instanceof Error) return error.name;
  return 'UNKNOWN';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
