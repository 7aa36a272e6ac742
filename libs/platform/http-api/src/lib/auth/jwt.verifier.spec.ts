import { generateKeyPairSync } from 'node:crypto';
import { type CryptoKey, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { AuthenticationError, type JwtVerifier, createJwtVerifier, parsePublicKeys } from './jwt.verifier';

const issuer = 'https://auth.test';
const audience = 'some-api';

interface KeyPair {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
}

/** The caller as a test app names it. */
interface Caller {
  readonly userId: string;
}
const callerOf = (subject: string): Caller => ({ userId: subject });

function sign(privateKey: CryptoKey, claims: Record<string, unknown> = {}, header: Record<string, string> = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', ...header }).setIssuedAt();
  if (!('sub' in claims)) jwt.setSubject('user-1');
  if (!('iss' in claims)) jwt.setIssuer(issuer);
  if (!('aud' in claims)) jwt.setAudience(audience);
  if (!('exp' in claims)) jwt.setExpirationTime('5m');
  return jwt.sign(privateKey);
}

async function reasonOf(verify: JwtVerifier<unknown>, token: string): Promise<string> {
  try {
    await verify(token);
  } catch (error) {
    if (error instanceof AuthenticationError) return error.reason;
    throw error;
  }
  throw new Error('expected an AuthenticationError');
}

describe('createJwtVerifier', () => {
  let keys: KeyPair;
  let verify: JwtVerifier<Caller>;

  beforeAll(async () => {
    keys = await generateKeyPair('RS256', { extractable: true });
    verify = createJwtVerifier(
      { keys: parsePublicKeys(await exportSPKI(keys.publicKey)), issuer, audience, algorithms: ['RS256'] },
      callerOf,
    );
  });

  it('returns the caller named by the sub claim', async () => {
    expect(await verify(await sign(keys.privateKey, { sub: 'user-42' }))).toEqual({ userId: 'user-42' });
  });

  it('names the caller as the app does (a service in sub, a single ES256 JWK)', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const verifyService = createJwtVerifier(
      { keys: parsePublicKeys(JSON.stringify(await exportJWK(es.publicKey))), issuer, audience, algorithms: ['ES256'] },
      (subject) => ({ serviceId: subject }),
    );
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('checkout')
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(es.privateKey);
    expect(await verifyService(token)).toEqual({ serviceId: 'checkout' });
  });

  it('refuses an expired token, beyond the clock tolerance', async () => {
    const token = await sign(keys.privateKey, { exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await reasonOf(verify, token)).toBe('token expired');
  });

  it('refuses another issuer or audience, naming the claim', async () => {
    expect(await reasonOf(verify, await sign(keys.privateKey, { iss: 'https://evil.test' }))).toMatch(/^invalid token: .*"iss"/);
    expect(await reasonOf(verify, await sign(keys.privateKey, { aud: 'another-api' }))).toMatch(/^invalid token: .*"aud"/);
  });

  it('refuses a token without sub or exp', async () => {
    const noSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m');
    expect(await reasonOf(verify, await noSub.sign(keys.privateKey))).toMatch(/"sub"/);
    const noExp = new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('u').setIssuer(issuer).setAudience(audience);
    expect(await reasonOf(verify, await noExp.sign(keys.privateKey))).toMatch(/"exp"/);
  });

  it('refuses a token signed by another key', async () => {
    const other = await generateKeyPair('RS256');
    expect(await reasonOf(verify, await sign(other.privateKey))).toBe('invalid token: signature verification failed');
  });

  it('refuses an algorithm that is not allowed, and unsigned or garbage tokens', async () => {
    const ps = await generateKeyPair('PS256');
    const psToken = await new SignJWT({}).setProtectedHeader({ alg: 'PS256' }).setSubject('u').sign(ps.privateKey);
    expect(await reasonOf(verify, psToken)).toBe('invalid token: algorithm not allowed');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}.`;
    expect(await reasonOf(verify, unsigned)).toMatch(/^invalid token: /);
    expect(await reasonOf(verify, 'not.a.token')).toBe('invalid token: malformed');
  });

  it('picks the key named by kid in a JWKS with several keys', async () => {
    const second = await generateKeyPair('ES256', { extractable: true });
    const jwks = JSON.stringify({
      keys: [
        { ...(await exportJWK(keys.publicKey)), kid: 'rsa-1' },
        { ...(await exportJWK(second.publicKey)), kid: 'ec-1' },
      ],
    });
    const verifyJwks = createJwtVerifier({ keys: parsePublicKeys(jwks), issuer, audience, algorithms: ['RS256', 'ES256'] }, callerOf);

    expect(await verifyJwks(await sign(keys.privateKey, {}, { kid: 'rsa-1' }))).toEqual({ userId: 'user-1' });
    const ecToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'ec-1' })
      .setSubject('user-ec')
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(second.privateKey);
    expect(await verifyJwks(ecToken)).toEqual({ userId: 'user-ec' });
  });
});

describe('parsePublicKeys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();

  it('reads several PEM public keys, also with \\n escapes as in an env file', () => {
    const text = `${pem(rsa.publicKey)}\n${pem(ec.publicKey)}`;
    expect(parsePublicKeys(text).keys.map((k) => k.kty)).toEqual(['RSA', 'EC']);
    expect(parsePublicKeys(text.replaceAll('\n', '\\n')).keys).toHaveLength(2);
  });

  it('reads a JWKS and a single JWK', () => {
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    expect(parsePublicKeys(JSON.stringify({ keys: [jwk] })).keys).toHaveLength(1);
    expect(parsePublicKeys(JSON.stringify(jwk)).keys).toHaveLength(1);
  });

  it('refuses private keys, symmetric keys, garbage and an empty set, saying why', () => {
    expect(() => parsePublicKeys(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(
      'PEM block 0 is a private key',
    );
    expect(() => parsePublicKeys(JSON.stringify({ keys: [rsa.privateKey.export({ format: 'jwk' })] }))).toThrow('key 0 is a private key');
    expect(() => parsePublicKeys('{"kty":"oct","k":"c2VjcmV0"}')).toThrow('key 0 is a symmetric key');
    expect(() => parsePublicKeys('{"keys":[{"kty":"RSA","n":"AQAB"}]}')).toThrow('key 0 is not a usable public key');
    expect(() => parsePublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(
      'PEM block 0 is not a usable public key',
    );
    expect(() => parsePublicKeys('{"keys":[]}')).toThrow('the JWKS has no keys');
    expect(() => parsePublicKeys('secret')).toThrow('expected a JWKS or a JWK as JSON, or PEM public keys');
  });
});
