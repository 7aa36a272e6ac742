import { readFileSync } from 'node:fs';
import { kafkaEnv, positiveInt, postgresEnv, serviceEnv, z } from '@qls/config';
import { METRICS_LATE_TOPIC, METRICS_RAW_TOPIC } from '@qls/metrics-contracts';
import { type Rule, parseRulesFile } from '@qls/metrics-windowing';

const nonNegativeInt = z.coerce.number({ error: 'expected a number' }).int('expected an integer').nonnegative();
const flag = z
  .enum(['true', 'false'])
  .default('true')
  .transform((value) => value === 'true');

export const configSchema = z
  .object({
    ...serviceEnv,
    ...kafkaEnv,
    ...postgresEnv,
    ALERTING_GROUP_ID: z.string().min(1).default('alerting'),
    /** Where a partition the alerter never checkpointed starts: the earliest retained record (true) or new records only. */
    ALERTING_FROM_BEGINNING: flag,
    METRICS_TOPIC: z.string().min(1).default(METRICS_RAW_TOPIC),
    METRICS_LATE_TOPIC: z.string().min(1).default(METRICS_LATE_TOPIC),
    METRICS_DEAD_LETTER_TOPIC: z.string().min(1).default('metrics-dead-letter'),
    ALERTS_TOPIC: z.string().min(1).default('alerts'),
    /** JSON file of alert rules ({ "rules": [...] }; see libs/metrics/windowing/README.md). Checked at boot. */
    ALERT_RULES_FILE: z.string().transform((path, ctx): Rule[] => {
      try {
        return parseRulesFile(readFileSync(path, 'utf8')).rules;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${path}: ${error instanceof Error ? error.message : String(error)}` });
        return z.NEVER;
      }
    }),
    /** How far out of order points may arrive and still count as on time (watermark = max event time − this). */
    WINDOW_OUT_OF_ORDERNESS_MS: nonNegativeInt.default(2_000),
    /** How long after the watermark passes a window's end late points still update it; later ones go to METRICS_LATE_TOPIC. */
    WINDOW_ALLOWED_LATENESS_MS: nonNegativeInt.default(5_000),
    /** A partition without records this long stops holding the watermark back (and lets the wall clock advance it). */
    WINDOW_IDLE_PARTITION_MS: positiveInt.default(30_000),
    /** State, offsets and alerts are committed together this often. */
    CHECKPOINT_INTERVAL_MS: positiveInt.default(200),
    /** A copy of the checkpoint is kept each time record timestamps cross a multiple of this, for replays that rewind state. */
    SAVEPOINT_INTERVAL_MS: positiveInt.default(60_000),
    SAVEPOINT_RETENTION_HOURS: positiveInt.default(24),
    /** Turn alert transitions on ALERTS_TOPIC into notifications (consumer group ALERT_NOTIFIER_GROUP_ID). */
    ALERT_NOTIFIER_ENABLED: flag,
    ALERT_NOTIFIER_GROUP_ID: z.string().min(1).default('alert-notifier'),
    NOTIFICATION_API_URL: z.url().optional(),
    /** Who is paged (the notification's userId). */
    ALERT_RECIPIENT_USER_ID: z.string().min(1).default('on-call'),
    ALERT_NOTIFY_CHANNEL: z.enum(['push', 'email', 'sms']).default('push'),
    /** Private JWK the notifier signs its tokens with; the notification API trusts its public half. */
    ALERT_NOTIFIER_SIGNING_KEY: z.string().min(1).optional(),
    AUTH_JWT_ISSUER: z.string().min(1).optional(),
    AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    if (!config.ALERT_NOTIFIER_ENABLED) return;
    for (const name of ['NOTIFICATION_API_URL', 'ALERT_NOTIFIER_SIGNING_KEY', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const) {
      if (config[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'required while ALERT_NOTIFIER_ENABLED=true' });
    }
  });
export type Config = z.infer<typeof configSchema>;
