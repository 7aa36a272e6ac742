import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig, type z } from '@qls/config';

/** A fresh P-256 public key as PEM (SPKI), as `AUTH_JWT_PUBLIC_KEYS` holds it. */
export function samplePublicKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Settings as a deployment sets them, for config specs: spread the ones an app
 * requires into its valid environment, e.g. `{ ...sampleEnv.postgres, ...sampleEnv.kafka }`.
 */
export const sampleEnv = {
  postgres: { DATABASE_URL: 'postgres://u:p@db:5432/app' },
  redis: { REDIS_URL: 'redis://redis:6379' },
  kafka: { KAFKA_BROKERS: 'kafka:9092' },
  sqs: { AWS_REGION: 'us-east-1' },
  /** Operator endpoints verify tokens: a fresh key and an issuer (the audience defaults to `qls-ops`). */
  operatorAuth: (): Record<string, string> => ({ AUTH_JWT_PUBLIC_KEYS: samplePublicKey(), AUTH_JWT_ISSUER: 'https://auth.example' }),
  /** An API's callers' tokens: a fresh key, an issuer and the app's audience. */
  userAuth: (audience: string): Record<string, string> => ({ ...sampleEnv.operatorAuth(), AUTH_JWT_AUDIENCE: audience }),
};

/** An app's config schema with a valid environment, for its config spec. */
export interface ConfigUnderTest<T> {
  /** The config loaded from the valid environment with `overrides` (throws a ConfigError as the app would). */
  load(overrides?: Record<string, string>): T;
  /** The problems a ConfigError names for the valid environment with `overrides`; fails if it loads. */
  problems(overrides: Record<string, string>): readonly string[];
  /** The variables those problems name, sorted. */
  named(overrides: Record<string, string>): string[];
}

export function configUnderTest<S extends z.ZodObject>(schema: S, valid: Record<string, string>): ConfigUnderTest<z.infer<S>> {
  const load = (overrides: Record<string, string> = {}) => loadConfig(schema, { ...valid, ...overrides });
  const problems = (overrides: Record<string, string>) => {
    try {
      load(overrides);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };
  return {
    load,
    problems,
    named: (overrides) =>
      problems(overrides)
        .map((p) => p.split(':')[0] ?? p)
        .sort(),
  };
}
