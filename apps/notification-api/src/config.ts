import { postgresEnv, redisEnv, serviceEnv, z } from '@qls/config';
import { jwtAlgorithms, parsePublicKeys } from './auth/jwt.verifier';

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

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

export const limitsEnv = {
  /** Largest JSON body; larger ones are answered 413. @defaultValue 64 KiB */
  HTTP_BODY_LIMIT_BYTES: positiveInt.default(64 * 1024),
  /** Sustained requests per second per user (may be fractional). */
  RATE_LIMIT_PER_SECOND: z.coerce.number({ error: 'expected a number' }).positive().default(10),
  /** Requests a user may make at once after a quiet period. */
  RATE_LIMIT_BURST: positiveInt.default(20),
};

export const configSchema = z.object({
  ...serviceEnv,
  ...postgresEnv,
  ...redisEnv,
  ...authEnv,
  ...limitsEnv,
  /** SQS queue (name) the outbox relay publishes NotificationRequested.v1 to. */
  NOTIFICATIONS_QUEUE: z.string().min(1).default('notifications'),
});
export type Config = z.infer<typeof configSchema>;
