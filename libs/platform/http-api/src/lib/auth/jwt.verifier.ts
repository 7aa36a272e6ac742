import { createPublicKey } from 'node:crypto';
import { type JSONWebKeySet, type JWK, type JWTPayload, createLocalJWKSet, errors, jwtVerify } from 'jose';
import { unsafeIdentifierReason } from '@qls/config';
import { PermanentError } from '@qls/messaging';

/** Asymmetric JWS algorithms a deployment may allow; HMAC and `none` are never accepted. */
export const jwtAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/**
 * The request carries no valid bearer token; `reason` says why (safe to show
 * the caller). `tokenGiven` is false when there was no bearer token at all.
 * Answered 401 with `WWW-Authenticate` (see toHttpError).
 */
export class AuthenticationError extends PermanentError {
  constructor(
    readonly reason: string,
    readonly tokenGiven = true,
  ) {
    super('AUTH.UNAUTHENTICATED', reason, { context: { reason } });
  }
}

export interface JwtVerifierOptions {
  /** The public keys tokens may be signed with (see {@link parsePublicKeys}). */
  readonly keys: JSONWebKeySet;
  /** Required `iss`. */
  readonly issuer: string;
  /** Required in `aud`. */
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  /** Leeway for `exp` / `nbf` between the issuer's clock and ours. @defaultValue 5 */
  readonly clockToleranceSeconds?: number;
}

/** Verifies a bearer token and answers the caller it names (`C`: the app's caller type). */
export type JwtVerifier<C> = (token: string) => Promise<C>;

/**
 * Verifies a compact JWS token: signature by one of `keys` (by `kid` when the
 * token names one, else every key of the right type is tried), an allowed
 * algorithm, `iss`, `aud`, `exp` (required) and `nbf`. The caller is the
 * `sub` claim (required: 1–255 characters, well-formed Unicode, no control
 * characters, else 401), which `callerOf` turns into the app's caller
 * (`{ userId }`, `{ serviceId }`...); it also gets the verified claims (an
 * operator's `scope`).
 *
 * @throws AuthenticationError with the reason (expired, wrong audience, bad signature...)
 */
export function createJwtVerifier<C>(options: JwtVerifierOptions, callerOf: (subject: string, claims: JWTPayload) => C): JwtVerifier<C> {
  const keySet = createLocalJWKSet(options.keys);
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: [...options.algorithms],
    requiredClaims: ['sub', 'exp'],
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };
  return async (token) => {
    let claims: JWTPayload;
    try {
      claims = (await jwtVerify(token, keySet, verifyOptions)).payload;
    } catch (error) {
      throw new AuthenticationError(reasonOf(error));
    }
    // The subject becomes a user id in rows, keys and log lines: one Postgres would store differently
    // (a lone surrogate becomes U+FFFD, aliasing two users) or refuse (NUL) is no identity at all.
    const subject = claims.sub as string;
    const unsafe = unsafeIdentifierReason(subject);
    if (unsafe !== undefined) throw new AuthenticationError(`invalid token: "sub" claim ${unsafe}`);
    return callerOf(subject, claims);
  };
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `invalid token: ${error.message}`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) {
    return 'invalid token: signature verification failed';
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'invalid token: algorithm not allowed';
  if (error instanceof errors.JOSEError) return 'invalid token: malformed';
  throw error; // not a verdict on the token: a bug or an outage, which must not turn into a 401
}

/**
 * Reads `AUTH_JWT_PUBLIC_KEYS`: a JWKS (`{"keys": [...]}`) or a single JWK as
 * JSON, or one or more PEM public keys / certificates (`\n` escapes allowed,
 * for env files). Every key is checked now, so a bad one stops the boot
 * rather than every request. Private keys are refused.
 *
 * @throws Error naming the problem
 */
export function parsePublicKeys(text: string): JSONWebKeySet {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('expected a JWKS or a JWK as JSON, or PEM public keys: the JSON does not parse');
    }
    const keys = isObject(parsed) && Array.isArray(parsed['keys']) ? (parsed['keys'] as unknown[]) : [parsed];
    if (keys.length === 0) throw new Error('the JWKS has no keys');
    return { keys: keys.map((key, i) => checkedJwk(key, `key ${i}`)) };
  }
  const pems = trimmed.replaceAll('\\n', '\n').match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g);
  if (!pems) throw new Error('expected a JWKS or a JWK as JSON, or PEM public keys');
  return {
    keys: pems.map((pem, i) => {
      if (/PRIVATE KEY-----/.test(pem)) throw new Error(`PEM block ${i} is a private key: configure public keys only`);
      try {
        return createPublicKey(pem).export({ format: 'jwk' }) as JWK;
      } catch (error) {
        throw new Error(`PEM block ${i} is not a usable public key (${error instanceof Error ? error.message : String(error)})`);
      }
    }),
  };
}

function checkedJwk(key: unknown, name: string): JWK {
  if (!isObject(key) || typeof key['kty'] !== 'string') throw new Error(`${name} is not a JWK (no "kty")`);
  if ('d' in key) throw new Error(`${name} is a private key: configure public keys only`);
  if (key['kty'] === 'oct') throw new Error(`${name} is a symmetric key: only public keys are accepted`);
  try {
    createPublicKey({ key: key as JWK & { kty: string }, format: 'jwk' });
  } catch (error) {
    throw new Error(`${name} is not a usable public key (${error instanceof Error ? error.message : String(error)})`);
  }
  return key as JWK;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
