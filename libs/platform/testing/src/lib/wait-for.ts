export interface WaitForOptions {
  /** @defaultValue 10_000 */
  readonly timeoutMs?: number;
  /** @defaultValue 50 */
  readonly intervalMs?: number;
  /**
   * Said in the timeout error: what we were waiting for. A function is called
   * at the timeout, so the error can tell how far things got.
   */
  readonly description?: string | (() => string | Promise<string>);
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false` (or
 * stops throwing) and returns that value. Tests await conditions with it
 * instead of sleeping; on timeout the error names the condition and the last
 * failure seen.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Exclude<T, false | undefined>> {
  const { timeoutMs = 10_000, intervalMs = 50, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      const what = typeof description === 'function' ? await description() : description;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A name no other test (or earlier run) uses: `prefix-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
