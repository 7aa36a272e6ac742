import { kafkaEnv, serviceEnv, z } from '@qls/config';
import { jwtAlgorithms, metricsIngestEnv, parsePublicKeys } from '@qls/metrics-ingest';

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').positive();

/** Per-service bearer tokens: JWTs whose `sub` is the service id, verified like notification-api's. */
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

export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  ...authEnv,
  /** Largest JSON body; larger ones are answered 413 before auth runs. @defaultValue 1 MiB */
  HTTP_BODY_LIMIT_BYTES: positiveInt.default(1024 * 1024),
  ...metricsIngestEnv,
});
export type Config = z.infer<typeof configSchema>;
