import { type CryptoKey, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { AuthenticationError, type JwtVerifier, createJwtVerifier, parsePublicKeys } from './jwt.verifier';

const issuer = 'https://auth.test';
const audience = 'metrics-ingest';

async function reasonOf(verify: JwtVerifier, token: string): Promise<string> {
  try {
    await verify(token);
  } catch (error) {
    if (error instanceof AuthenticationError) return error.reason;
    throw error;
  }
  throw new Error('expected an AuthenticationError');
}

/** The verification itself is notification-api's (its spec covers every refusal); here: the caller is the service in `sub`. */
describe('createJwtVerifier (metrics-ingest)', () => {
  let privateKey: CryptoKey;
  let verify: JwtVerifier;

  beforeAll(async () => {
    const keys = await generateKeyPair('ES256', { extractable: true });
    privateKey = keys.privateKey;
    verify = createJwtVerifier({
      keys: parsePublicKeys(JSON.stringify(await exportJWK(keys.publicKey))),
      issuer,
      audience,
      algorithms: ['ES256'],
    });
  });

  const sign = (sub: string, expiresAt: string | number = '5m', key = privateKey) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(sub)
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime(expiresAt)
      .sign(key);

  it('returns the service named by the sub claim', async () => {
    expect(await verify(await sign('checkout'))).toEqual({ serviceId: 'checkout' });
  });

  it('refuses an expired token and one signed by another key', async () => {
    expect(await reasonOf(verify, await sign('checkout', Math.floor(Date.now() / 1000) - 60))).toBe('token expired');
    const other = await generateKeyPair('ES256');
    expect(await reasonOf(verify, await sign('checkout', '5m', other.privateKey))).toBe('invalid token: signature verification failed');
  });
});
