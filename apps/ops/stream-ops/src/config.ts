import { kafkaEnv, postgresEnv, serviceEnv, z } from '@qls/config';
import { operatorAuthEnv } from '@qls/http-api';
import { parseLagTargets } from '@qls/kafka';

const int = (min: number, what: string) =>
  z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(min, `expected at least ${min} (${what})`);

export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  /** Where the windowed alerter keeps its checkpoints and savepoints (its replay rewinds them). */
  ...postgresEnv,
  ...operatorAuthEnv,
  ALERTING_GROUP_ID: z.string().min(1).default('alerting'),
  /** The consumer groups whose lag is monitored, as `group:topic` pairs separated by commas. */
  LAG_GROUPS: z
    .string()
    .default('storage:metrics-raw,alerting:metrics-raw,dashboard:metrics-raw')
    .transform((raw, ctx) => {
      try {
        return parseLagTargets(raw);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /** How often lag is read; every poll is one sample of the evaluation window. */
  LAG_POLL_INTERVAL_MS: int(100, 'ms').default(15_000),
  /** Samples the trend rules (WARN, STALL) look at: window = size × interval. */
  LAG_WINDOW_SIZE: int(2, 'samples').max(1_000, 'expected at most 1000 (samples)').default(10),
  /** Lag > 0 with the committed offset unchanged this long is STOP. */
  LAG_STOP_AFTER_MS: int(1_000, 'ms').default(300_000),
  /** A partition with this many times the mean lag of the others is hot. */
  LAG_HOT_FACTOR: z.coerce.number({ error: 'expected a number' }).gt(1, 'expected more than 1').default(10),
  /** ...and at least this much lag (records). */
  LAG_HOT_MIN_LAG: int(0, 'records').default(1_000),
  /** Time lag above this fraction of the topic's retention is critical. */
  LAG_RETENTION_CRITICAL_RATIO: z.coerce
    .number({ error: 'expected a number' })
    .gt(0, 'expected a fraction above 0')
    .max(1, 'expected a fraction of at most 1')
    .default(0.5),
});
export type Config = z.infer<typeof configSchema>;
