import type { GenerateKeyPairResult } from 'jose';

/** An app's operator auth for a test: the environment that makes it trust a fresh key, and tokens signed by that key. */
export interface OperatorTokens {
  /** `AUTH_JWT_PUBLIC_KEYS` and `AUTH_JWT_ISSUER` (the audience is the operator default, `qls-ops`). */
  readonly env: Record<string, string>;
  readonly keys: GenerateKeyPairResult;
  /** A token for `subject` granting `scope` (space-separated, e.g. `ops:read ops:write`), for `audience` (default `qls-ops`), valid 5 minutes. */
  token(subject: string, scope: string, audience?: string): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for an operator `ops-test` with both scopes, plus `Content-Type: application/json`. */
  headers(scope?: string): Promise<Record<string, string>>;
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
    env: { AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey), AUTH_JWT_ISSUER: issuer },
    keys,
    token,
    headers: async (scope = 'ops:read ops:write') => ({
      authorization: `Bearer ${await token('ops-test', scope)}`,
      'content-type': 'application/json',
    }),
  };
}
