/**
 * One dependency the service needs before it can take traffic. `check`
 * resolves when the dependency is usable and rejects (with a reason) when not.
 */
export interface ReadinessCheck {
  /** Names the dependency in the readiness report, e.g. `postgres`. */
  readonly name: string;
  check(): Promise<unknown>;
}

export type CheckResult = { readonly status: 'up' } | { readonly status: 'down'; readonly error: string };

/** The body of `GET /health/ready`. */
export interface ReadinessReport {
  readonly status: 'ready' | 'unavailable';
  /** Names of the checks that failed; empty when ready. */
  readonly failed: readonly string[];
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** Default time a single readiness check may take before it counts as failed. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2_000;

/** Runs every check in parallel; a check that rejects or exceeds `timeoutMs` fails. */
export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs = DEFAULT_READINESS_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((check) => runOne(check, timeoutMs)));
  const failed = checks.filter((_, i) => results[i]?.status === 'down').map((check) => check.name);
  return {
    status: failed.length === 0 ? 'ready' : 'unavailable',
    failed,
    checks: Object.fromEntries(checks.map((check, i) => [check.name, results[i] as CheckResult])),
  };
}

async function runOne(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** The part of a `pg` Pool (or Client) that {@link postgresReadiness} uses. */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

/** Ready when `SELECT 1` succeeds on `pool`. */
export function postgresReadiness(pool: Queryable, name = 'postgres'): ReadinessCheck {
  return { name, check: () => pool.query('SELECT 1') };
}
