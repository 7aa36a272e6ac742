import { z } from 'zod';
import { type Channel, channels } from '@qls/notification';
import { type FieldIssue, NotificationValidationError } from './notification.errors';

/** Limits of a create request; see {@link intakeDefaults}. */
export interface IntakeLimits {
  /** Longest `template` name, in characters. */
  readonly maxTemplateLength: number;
  /** Largest `data` object, in bytes of its JSON. */
  readonly maxDataBytes: number;
  /** Longest `Idempotency-Key`, in characters (Stripe's limit). */
  readonly maxIdempotencyKeyLength: number;
}

export const intakeDefaults: IntakeLimits = {
  maxTemplateLength: 200,
  maxDataBytes: 16 * 1024,
  maxIdempotencyKeyLength: 255,
};

/** Postgres text and jsonb reject U+0000; refuse it here with the field's name rather than fail the insert. */
const noNul = (value: string): boolean => !value.includes('\u0000');

function bodySchema(limits: IntakeLimits) {
  return z.strictObject({
    /** Optional client-chosen id (a UUID); generated when absent. */
    notificationId: z.uuid({ error: 'expected a UUID' }).optional(),
    userId: z.string().min(1).max(200).refine(noNul, 'must not contain NUL characters'),
    channel: z.enum(channels, { error: `expected one of ${channels.join(', ')}` }),
    template: z
      .string()
      .min(1)
      .max(limits.maxTemplateLength)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a template name: letters, digits, ".", "_", "/", "-"'),
    data: z
      .record(z.string(), z.unknown(), { error: 'expected a JSON object' })
      .default({})
      .superRefine((data, ctx) => {
        const json = JSON.stringify(data);
        const bytes = Buffer.byteLength(json, 'utf8');
        if (bytes > limits.maxDataBytes)
          ctx.addIssue({ code: 'custom', message: `must be at most ${limits.maxDataBytes} bytes of JSON, got ${bytes}` });
        if (json.includes('\\u0000')) ctx.addIssue({ code: 'custom', message: 'must not contain NUL characters' });
      }),
  });
}

/** A validated create request. */
export interface CreateNotificationCommand {
  readonly notificationId: string | undefined;
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly data: Record<string, unknown>;
}

const schemas = new WeakMap<IntakeLimits, ReturnType<typeof bodySchema>>();

/**
 * Parses a create request body: a JSON object with exactly the fields
 * `notificationId?`, `userId`, `channel`, `template`, `data?` (unknown fields
 * are refused: a misspelt optional field must not pass silently).
 *
 * @throws NotificationValidationError naming the first bad field and listing every problem
 */
export function parseCreateNotification(body: unknown, limits: IntakeLimits = intakeDefaults): CreateNotificationCommand {
  let schema = schemas.get(limits);
  if (schema === undefined) schemas.set(limits, (schema = bodySchema(limits)));
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return { ...parsed.data, notificationId: parsed.data.notificationId };
  const [first, ...rest] = parsed.error.issues.flatMap(describeIssue);
  throw new NotificationValidationError(first ? [first, ...rest] : [{ field: undefined, message: 'invalid request' }]);
}

function describeIssue(issue: z.core.$ZodIssue): FieldIssue[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const field = [...path, key].join('.');
      return { field, message: `${field}: unknown field` };
    });
  }
  if (path.length === 0) return [{ field: undefined, message: 'body: expected a JSON object' }];
  const field = path.join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) return [{ field, message: `${field} is required` }];
  return [{ field, message: `${field}: ${issue.message}` }];
}

/**
 * The key that makes a create request idempotent: the `Idempotency-Key`
 * header when given, otherwise the notification id (the client's, or the
 * generated one — which makes a request without either never a repeat).
 *
 * @throws NotificationValidationError when the header is empty, too long or not printable ASCII
 */
export function idempotencyKeyFor(header: string | undefined, notificationId: string, limits: IntakeLimits = intakeDefaults): string {
  if (header === undefined) return notificationId;
  if (header.length === 0 || header.length > limits.maxIdempotencyKeyLength || !/^[\x20-\x7e]+$/.test(header)) {
    throw new NotificationValidationError([
      {
        field: 'Idempotency-Key',
        message: `Idempotency-Key: expected 1 to ${limits.maxIdempotencyKeyLength} printable ASCII characters`,
      },
    ]);
  }
  return header;
}
