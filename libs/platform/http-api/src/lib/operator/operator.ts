import type { JWTPayload } from 'jose';
import { z } from '@qls/config';
import { authEnv, jwtSettings } from '../auth/auth.env';
import { type JwtVerifier, createJwtVerifier } from '../auth/jwt.verifier';

/** What an operator token may allow: reading the operator endpoints, or acting through them. Neither implies the other. */
export const operatorScopes = ['ops:read', 'ops:write'] as const;
export type OperatorScope = (typeof operatorScopes)[number];

/** The audience operator tokens are issued for, unless `AUTH_JWT_AUDIENCE` says otherwise. */
export const OPERATOR_AUDIENCE = 'qls-ops';

/** A caller of the operator endpoints: the token's `sub` and the operator scopes its `scope` claim grants. */
export interface Operator {
  readonly operatorId: string;
  readonly scopes: ReadonlySet<OperatorScope>;
}

const positive = z.coerce.number({ error: 'expected a number' }).positive();

/**
 * The settings of an app with operator endpoints: the same key variables as
 * the user APIs ({@link authEnv}) with the operators' audience by default, and
 * each operator's request budget.
 */
export const operatorAuthEnv = {
  ...authEnv,
  AUTH_JWT_AUDIENCE: z.string().min(1).default(OPERATOR_AUDIENCE),
  /** Requests per second each operator may make, sustained (fractional allowed). */
  OPS_RATE_LIMIT_PER_SECOND: positive.default(10),
  /** Requests an operator may make at once after a quiet period. */
  OPS_RATE_LIMIT_BURST: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(1).default(50),
};

/** The scopes of a verified token: OAuth's space-separated `scope`, or an `scp` array; only operator scopes are kept. */
export function operatorScopesOf(claims: JWTPayload): ReadonlySet<OperatorScope> {
  const raw = claims['scope'] ?? claims['scp'];
  const listed = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw.filter((s) => typeof s === 'string') : [];
  return new Set(operatorScopes.filter((scope) => listed.includes(scope)));
}

/**
 * Verifies operator tokens like the user APIs verify theirs
 * ({@link createJwtVerifier}: the same keys, issuer and algorithms; the
 * `qls-ops` audience), answering the operator with its scopes. A user's token
 * (another audience) is a 401; a `qls-ops` token without the route's scope a 403.
 */
export function createOperatorVerifier(env: Parameters<typeof jwtSettings>[0]): JwtVerifier<Operator> {
  return createJwtVerifier(jwtSettings(env), (subject, claims) => ({ operatorId: subject, scopes: operatorScopesOf(claims) }));
}
