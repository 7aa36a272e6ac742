import type { z } from 'zod';

/** Thrown when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
  readonly retriable = false;

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses `env` with `schema`, whose keys are environment variable names.
 * Every problem is reported at once and each names its variable, e.g.
 * `KAFKA_BROKERS is required` or `PORT: expected a number, got "http"`.
 * Empty strings count as unset, so `FOO=` in an env file means "use the default".
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
      const given = issue.path.length > 0 ? input[String(issue.path[0])] : undefined;
      if (given === undefined && issue.code === 'invalid_type') return `${name} is required`;
      return given === undefined ? `${name}: ${issue.message}` : `${name}: ${issue.message}, got "${given}"`;
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
