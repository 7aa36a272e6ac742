import type { GenerateKeyPairResult } from 'jose';

/** An app's operator auth for a test: the environment that makes it trust a fresh key, and tokens signed by that key. */
export interface OperatorTokens {
  /** `AUTH_JWT_PUBLIC_KEYS` and `AUTH_JWT_ISSUER` (the audience is the operator default, `qls-ops`), and a generous operator budget. */
  readonly env: Record<string, string>;
  readonly keys: GenerateKeyPairResult;
  /** A token for `subject` granting `scope` (space-separated, e.g. `ops:read ops:write`), for `audience` (default `qls-ops`), valid 5 minutes. */
  token(subject: string, scope: string, audience?: string): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for an operator `ops-test` with both scopes, plus `Content-Type: application/json`. */
  headers(scope?: string): Promise<Record<string, string>>;
  /**
   * The statuses `url` answers (with `method`, and `body` as JSON) without a
   * token, with a garbage one, with a user's token (another audience) and
   * with an operator token lacking `scope`: `[401, 401, 401, 403]` for an
   * operator endpoint.
   */
  refusals(url: string, scope: 'ops:read' | 'ops:write', method?: string, body?: string): Promise<number[]>;
}

const issuer = 'https://auth.test/operators';

/** A fresh ES256 key pair the app under test trusts for operator tokens. */
export async function operatorTokens(): Promise<OperatorTokens> {
  // Loaded here, not at the top: jose is ESM, and only the projects that call this transform it.
  const { SignJWT, exportSPKI, generateKeyPair } = await import('jose');
  const keys = await generateKeyPair('ES256', { extractable: true });
  const token = (subject: string, scope: string, audience = 'qls-ops') =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(keys.privateKey);
  return {
    // A budget tests that poll do not exhaust; a test of the budget sets its own.
    env: {
      AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey),
      AUTH_JWT_ISSUER: issuer,
      OPS_RATE_LIMIT_PER_SECOND: '1000',
      OPS_RATE_LIMIT_BURST: '1000',
    },
    keys,
    token,
    headers: async (scope = 'ops:read ops:write') => ({
      authorization: `Bearer ${await token('ops-test', scope)}`,
      'content-type': 'application/json',
    }),
    refusals: async (url, scope, method = 'GET', body) => {
      const other = scope === 'ops:read' ? 'ops:write' : 'ops:read';
      const statuses: number[] = [];
      for (const authorization of [
        undefined,
        'Bearer not.a.token',
        `Bearer ${await token('user-1', 'ops:read ops:write', 'notification-api')}`,
        `Bearer ${await token('ops-test', other)}`,
      ]) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (authorization !== undefined) headers['authorization'] = authorization;
        statuses.push((await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) })).status);
      }
      return statuses;
    },
  };
}
