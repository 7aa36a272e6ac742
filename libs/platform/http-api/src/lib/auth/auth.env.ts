import type { JSONWebKeySet } from 'jose';
import { z } from '@qls/config';
import { type JwtAlgorithm, type JwtVerifierOptions, jwtAlgorithms, parsePublicKeys } from './jwt.verifier';

/** The bearer-token variables of an API's config schema: JWTs checked by createJwtVerifier. */
export const authEnv = {
  /** Public keys tokens are signed with: a JWKS or JWK (JSON), or PEM public keys. Checked at boot. */
  AUTH_JWT_PUBLIC_KEYS: z.string().transform((text, ctx) => {
    try {
      return parsePublicKeys(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  }),
  AUTH_JWT_ISSUER: z.string().min(1),
  AUTH_JWT_AUDIENCE: z.string().min(1),
  /** Comma-separated; asymmetric algorithms only. */
  AUTH_JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((raw) => raw.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(jwtAlgorithms, { error: `expected a comma-separated list of ${jwtAlgorithms.join(', ')}` })).min(1)),
};

/** The verifier's settings from a config loaded with {@link authEnv}. */
export function jwtSettings(env: {
  AUTH_JWT_PUBLIC_KEYS: JSONWebKeySet;
  AUTH_JWT_ISSUER: string;
  AUTH_JWT_AUDIENCE: string;
  AUTH_JWT_ALGORITHMS: readonly JwtAlgorithm[];
}): JwtVerifierOptions {
  return {
    keys: env.AUTH_JWT_PUBLIC_KEYS,
    issuer: env.AUTH_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
    algorithms: env.AUTH_JWT_ALGORITHMS,
  };
}
