import { decodeJwt } from 'jose';
import type { JwtVerifier } from './jwt.verifier';

export interface VerificationCacheOptions {
  /** Most tokens remembered; the least recently used one is dropped beyond. @defaultValue 10,000 */
  readonly maxEntries?: number;
}

interface Verified<C> {
  readonly caller: C;
  /** The token's `exp`, in ms since the epoch. */
  readonly expiresAtMs: number;
}

/**
 * Remembers the callers of tokens that `verify` accepted, so a client sending
 * the same token with every request pays for one signature check (an RSA or
 * EC verification through WebCrypto costs more than the rest of a small
 * request) instead of one per request.
 *
 * Safe because the key is the whole token, signature included: a token that
 * differs in any byte is a miss and is verified. An entry is used only until
 * the token's `exp` (checked on every hit, without the verifier's clock
 * tolerance); a token without `exp` is not cached. `nbf` needs no check: a
 * token accepted once stays past its `nbf`. Refused tokens are never cached —
 * they are answered by `verify` every time. Keys are the ones configured at
 * boot, so no accepted token can become invalid before it expires.
 */
export function withVerificationCache<C>(verify: JwtVerifier<C>, options: VerificationCacheOptions = {}): JwtVerifier<C> {
  const maxEntries = options.maxEntries ?? 10_000;
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  const cache = new Map<string, Verified<C>>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit !== undefined) {
      cache.delete(token);
      if (Date.now() < hit.expiresAtMs) {
        cache.set(token, hit);
        return hit.caller;
      }
    }
    const caller = await verify(token);
    // Verified, so the claims are the issuer's; `verify` requires `exp`, but a verifier that does not is handled too.
    const { exp } = decodeJwt(token);
    if (typeof exp === 'number' && Date.now() < exp * 1000) {
      cache.set(token, { caller, expiresAtMs: exp * 1000 });
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    }
    return caller;
  };
}
