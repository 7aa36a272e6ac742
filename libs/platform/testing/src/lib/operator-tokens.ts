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
  /** The first three of {@link refusals}: without a token, with a garbage one, with a user's token — `[401, 401, 401]`. */
  nonOperatorStatuses(url: string, method?: string, body?: string): Promise<number[]>;
  /** `fetch` as that operator (`headers()`); the request's own headers win. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

export interface UserTokenOptions {
  /** A jose time ('5m') or epoch seconds; default 5 minutes ahead. */
  readonly expiresAt?: string | number;
  /** Another ES256 private key than the trusted one: a forgery. */
  readonly key?: GenerateKeyPairResult['privateKey'];
}

/** An API's callers for a test: the environment that makes the app trust a fresh key, and users' tokens signed by it. */
export interface UserTokens {
  /** `AUTH_JWT_PUBLIC_KEYS`, `AUTH_JWT_ISSUER` and `AUTH_JWT_AUDIENCE`. */
  readonly env: Record<string, string>;
  readonly keys: GenerateKeyPairResult;
  /**
   * A token for `subject` from the issuer, for the audience, valid 5 minutes;
   * `expiresAt` (a jose time: '5m', or epoch seconds) and `key` (another
   * ES256 private key: a forgery) make the tokens an app must refuse.
   */
  token(subject: string, options?: UserTokenOptions): Promise<string>;
}

/** A fresh ES256 key pair an API under test trusts for its callers' tokens (`issuer`, `audience`). */
export async function userTokens(audience: string, issuer = 'https://auth.test'): Promise<UserTokens> {
  // Loaded here, not at the top: jose is ESM, and only the projects that call this transform it.
  const { SignJWT, exportSPKI, generateKeyPair } = await import('jose');
  const keys = await generateKeyPair('ES256', { extractable: true });
  return {
    env: { AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey), AUTH_JWT_ISSUER: issuer, AUTH_JWT_AUDIENCE: audience },
    keys,
    token: (subject, { expiresAt = '5m', key = keys.privateKey } = {}) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(subject)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(key),
  };
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
  const nonOperators = async () => [
    undefined,
    'Bearer not.a.token',
    `Bearer ${await token('user-1', 'ops:read ops:write', 'notification-api')}`,
  ];
  const headers = async (scope = 'ops:read ops:write') => ({
    authorization: `Bearer ${await token('ops-test', scope)}`,
    'content-type': 'application/json',
  });
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
    headers,
    fetch: async (url, init = {}) =>
      fetch(url, { ...init, headers: { ...(await headers()), ...(init.headers as Record<string, string> | undefined) } }),
    refusals: async (url, scope, method = 'GET', body) => {
      const other = scope === 'ops:read' ? 'ops:write' : 'ops:read';
      return [
        ...(await statuses(url, method, body, await nonOperators())),
        ...(await statuses(url, method, body, [`Bearer ${await token('ops-test', other)}`])),
      ];
    },
    nonOperatorStatuses: async (url, method = 'GET', body) => statuses(url, method, body, await nonOperators()),
  };
}

/** The status `url` answers (`method`, `body` as JSON) to each of `authorizations` (undefined: no header). */
async function statuses(url: string, method: string, body: string | undefined, authorizations: (string | undefined)[]): Promise<number[]> {
  const answered: number[] = [];
  for (const authorization of authorizations) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers['authorization'] = authorization;
    answered.push((await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) })).status);
  }
  return answered;
}
