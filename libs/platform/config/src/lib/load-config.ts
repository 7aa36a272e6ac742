import type { z } from 'zod';
import { REDACTED, isSecretName, redactSecrets } from './redact';

/**
 * Thrown when the environment does not satisfy a service's config schema.
 * Its problems never hold a secret: each is passed through {@link redactSecrets}.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
  readonly retriable = false;
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const redacted = problems.map(redactSecrets);
    super(`Invalid configuration:\n  - ${redacted.join('\n  - ')}`);
    this.problems = redacted;
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses `env` with `schema`, whose keys are environment variable names.
 * Every problem is reported at once and each names its variable, e.g.
 * `KAFKA_BROKERS is required` or `PORT: expected a number, got "http"`.
 * Empty strings count as unset, so `FOO=` in an env file means "use the default".
 * The value is quoted with its secrets redacted (URL passwords, private key
 * members, PEM private keys), and not at all for a variable named like a secret.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(config)';
      const variable = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      const given = variable === undefined ? undefined : input[variable];
      if (given === undefined && issue.code === 'invalid_type') return `${name} is required`;
      if (given === undefined) return `${name}: ${issue.message}`;
      return `${name}: ${issue.message}, got "${isSecretName(variable ?? '') ? REDACTED : redactSecrets(given)}"`;
    }),
  );
}

/**
 * For `main.ts`: load the config or exit with status 78 (EX_CONFIG) and a message
 * naming every bad variable. Runs before the logger exists, hence stderr.
 */
export function loadConfigOrExit<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
}
