import { excerpt, identifier, safeJsonObject, z } from '@qls/config';
import { type Channel, channels } from '@qls/notification-delivery';
import { type FieldIssue, NotificationValidationError } from './notification.errors';

/** Limits of a create request; see {@link intakeDefaults}. */
export interface IntakeLimits {
  /** Longest `template` name, in characters. */
  readonly maxTemplateLength: number;
  /** Largest `data` object, in bytes of its JSON. */
  readonly maxDataBytes: number;
  /** Deepest nesting of objects and arrays in `data` (`data` itself is level 1). */
  readonly maxDataDepth: number;
  /** Longest `Idempotency-Key`, in characters (Stripe's limit). */
  readonly maxIdempotencyKeyLength: number;
}

export const intakeDefaults: IntakeLimits = {
  maxTemplateLength: 200,
  maxDataBytes: 16 * 1024,
  maxDataDepth: 32,
  maxIdempotencyKeyLength: 255,
};

/** The body of `POST /notifications` (also its OpenAPI schema). */
export function createNotificationSchema(limits: IntakeLimits = intakeDefaults) {
  return z.strictObject({
    /** Optional client-chosen id (a UUID); generated when absent. */
    notificationId: z.uuid({ error: 'expected a UUID' }).optional(),
    // Well-formed: the driver would store a lone surrogate as U+FFFD, aliasing two users (docs/contracts.md).
    userId: identifier(),
    channel: z.enum(channels, { error: `expected one of ${channels.join(', ')}` }),
    template: z
      .string()
      .min(1)
      .max(limits.maxTemplateLength)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a template name: letters, digits, ".", "_", "/", "-"'),
    // Everything jsonb would refuse (NUL, lone surrogates), checked without recursion, then the size.
    data: safeJsonObject({ maxBytes: limits.maxDataBytes, maxDepth: limits.maxDataDepth }).default({}),
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

const schemas = new WeakMap<IntakeLimits, ReturnType<typeof createNotificationSchema>>();

/**
 * Parses a create request body: a JSON object with exactly the fields
 * `notificationId?`, `userId`, `channel`, `template`, `data?` (unknown fields
 * are refused: a misspelt optional field must not pass silently).
 *
 * @throws NotificationValidationError naming the first bad field and listing every problem
 */
export function parseCreateNotification(body: unknown, limits: IntakeLimits = intakeDefaults): CreateNotificationCommand {
  let schema = schemas.get(limits);
  if (schema === undefined) schemas.set(limits, (schema = createNotificationSchema(limits)));
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return { ...parsed.data, notificationId: parsed.data.notificationId };
  const [first, ...rest] = parsed.error.issues.flatMap(describeIssue);
  throw new NotificationValidationError(first ? [first, ...rest] : [{ field: undefined, message: 'invalid request' }]);
}

/** A field's path as answered: each name an escaped excerpt (a key is caller input: never echoed whole). */
function describeIssue(issue: z.core.$ZodIssue): FieldIssue[] {
  const path = issue.path.map((key) => excerpt(String(key)));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.slice(0, 5).map((key) => {
      const field = [...path, excerpt(key)].join('.');
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
