/**
 * A bearer token for the local product, signed with the local-only key whose public half
 * .env.example (and so `./dev up`, compose and k8s/overlays/local) trusts:
 *
 *   ./dev token <audience> <subject> [scope]
 *   ./dev token notification-api user-1                 a user of notification-api (feed-api alike)
 *   ./dev token metrics-ingest checkout                 the service `checkout` sending metrics
 *   ./dev token qls-ops alice 'ops:read ops:write'      an operator
 *
 * Valid for an hour. Never trusted anywhere but a laptop (docs/security.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type JWK, SignJWT } from 'jose';

export const LOCAL_ISSUER = 'queues-logs-streams-local';
const KEY_PATH = join(import.meta.dirname, '../compose/local-jwt-signing-key.json');

/** A token for `audience` with subject `subject` (and `scope`, for operators), signed with the local-only key. */
export async function localToken(audience: string, subject: string, scope?: string, lifetime = '1h'): Promise<string> {
  const jwk = JSON.parse(readFileSync(KEY_PATH, 'utf8')) as JWK & { kid: string };
  const key = await importJWK(jwk, 'ES256');
  return new SignJWT(scope ? { scope } : {})
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
    .setSubject(subject)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(lifetime)
    .sign(key);
}

if (import.meta.main) {
  const [audience, subject, scope, ...extra] = process.argv.slice(2);
  if (!audience || !subject || extra.length > 0) {
    console.error("usage: ./dev token <audience> <subject> [scope]   (e.g. ./dev token qls-ops alice 'ops:read ops:write')");
    process.exitCode = 2;
  } else {
    console.log(await localToken(audience, subject, scope));
  }
}
