import { type CryptoKey, SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { AuthenticationError, type JwtVerifier, createJwtVerifier, parsePublicKeys } from './jwt.verifier';
import { withVerificationCache } from './verification-cache';

const issuer = 'https://auth.test';
const audience = 'some-api';

interface Caller {
  readonly userId: string;
}

describe('withVerificationCache', () => {
  let privateKey: CryptoKey;
  let verify: jest.Mock<Promise<Caller>, [string]>;

  beforeAll(async () => {
    const keys = await generateKeyPair('RS256', { extractable: true });
    privateKey = keys.privateKey;
    const real = createJwtVerifier(
      { keys: parsePublicKeys(await exportSPKI(keys.publicKey)), issuer, audience, algorithms: ['RS256'] },
      (subject): Caller => ({ userId: subject }),
    );
    verify = jest.fn(real);
  });

  beforeEach(() => verify.mockClear());

  afterEach(() => jest.useRealTimers());

  function sign(subject: string, expiresAt: string | number = '5m'): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime(expiresAt)
      .sign(privateKey);
  }

  /** Only Date is faked: jose's WebCrypto calls need the real event loop. */
  function freezeClockAt(ms: number): void {
    jest.useFakeTimers({
      now: ms,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  }

  async function reasonOf(cached: JwtVerifier<Caller>, token: string): Promise<string> {
    const error: unknown = await cached(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error instanceof AuthenticationError) return error.reason;
    throw new Error(`expected an AuthenticationError, got ${String(error)}`);
  }

  it('verifies a token once and answers its repeats from the cache', async () => {
    const cached = withVerificationCache(verify);
    const token = await sign('user-1');

    const callers = [await cached(token), await cached(token), await cached(token)];

    expect(callers).toEqual([{ userId: 'user-1' }, { userId: 'user-1' }, { userId: 'user-1' }]);
    expect(verify).toHaveBeenCalledTimes(1);
    // Another token of the same user is verified on its own.
    expect(await cached(await sign('user-1', '10m'))).toEqual({ userId: 'user-1' });
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('does not cache a refused token, and a token changed in its signature is verified (and refused)', async () => {
    const cached = withVerificationCache(verify);
    const token = await sign('user-1');
    await cached(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;

    expect(await reasonOf(cached, forged)).toBe('invalid token: signature verification failed');
    expect(await reasonOf(cached, forged)).toBe('invalid token: signature verification failed');
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('refuses a cached token once it has expired, verifying it again', async () => {
    const cached = withVerificationCache(verify);
    const expSeconds = Math.floor(Date.now() / 1000) + 60;
    const token = await sign('user-1', expSeconds);
    expect(await cached(token)).toEqual({ userId: 'user-1' });

    freezeClockAt(expSeconds * 1000 + 10_000); // past exp and the verifier's 5 s clock tolerance

    expect(await reasonOf(cached, token)).toBe('token expired');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('does not cache a token accepted within the clock tolerance after its exp', async () => {
    const cached = withVerificationCache(verify);
    const expSeconds = Math.floor(Date.now() / 1000) + 60;
    const token = await sign('user-1', expSeconds);
    freezeClockAt(expSeconds * 1000 + 1_000);

    expect(await cached(token)).toEqual({ userId: 'user-1' });
    expect(await cached(token)).toEqual({ userId: 'user-1' });
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('keeps at most maxEntries tokens, dropping the least recently used', async () => {
    const cached = withVerificationCache(verify, { maxEntries: 2 });
    const [a, b, c] = await Promise.all([sign('a'), sign('b'), sign('c')]);
    await cached(a);
    await cached(b);
    await cached(a); // a is now more recent than b
    await cached(c); // evicts b
    verify.mockClear();

    await cached(a);
    await cached(c);
    expect(verify).not.toHaveBeenCalled();
    await cached(b);
    expect(verify).toHaveBeenCalledTimes(1);
  });
});
