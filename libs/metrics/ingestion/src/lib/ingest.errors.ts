import { PermanentError, RetriableError } from '@qls/messaging';

/** Stable codes of the ingest's errors; the HTTP edge maps them to statuses. */
export const IngestErrorCode = {
  validationFailed: 'METRICS.VALIDATION_FAILED',
  serviceMismatch: 'METRICS.SERVICE_MISMATCH',
  throttled: 'METRICS.THROTTLED',
} as const;

/** One problem with a request, naming the field (`points[3].value`) when there is one. */
export interface FieldIssue {
  readonly field: string | undefined;
  readonly message: string;
}

/** Issues listed in an error message; the rest are counted ("and 4,990 more"), so 5,000 bad points do not make a 1 MB answer. */
const MAX_LISTED_ISSUES = 10;

/**
 * The request is malformed; sending it again unchanged cannot succeed.
 * `field` names the first offending field (`points[3].value`; absent when the
 * body as a whole is wrong); `issues` lists every problem found.
 */
export class MetricsValidationError extends PermanentError {
  readonly field: string | undefined;
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly [FieldIssue, ...FieldIssue[]]) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => issue.message);
    if (issues.length > MAX_LISTED_ISSUES) listed.push(`and ${issues.length - MAX_LISTED_ISSUES} more`);
    super(IngestErrorCode.validationFailed, listed.join('; '), { context: { issues: issues.slice(0, MAX_LISTED_ISSUES) } });
    this.field = issues[0].field;
    this.issues = issues;
  }
}

/** A point's `serviceId` is not the authenticated caller: a service writes its own points only. */
export class ServiceMismatchError extends PermanentError {
  readonly field: string;

  constructor(
    readonly index: number,
    serviceId: string,
    caller: string,
  ) {
    const field = `points[${index}].serviceId`;
    super(IngestErrorCode.serviceMismatch, `${field}: "${serviceId}" is not the authenticated service "${caller}" (the token subject)`, {
      context: { index, serviceId, caller },
    });
    this.field = field;
  }
}

/**
 * Backpressure: the alerting consumer group is too far behind, so the ingest
 * refuses points for now (nothing was produced). Retry after `retryAfterSeconds`.
 */
export class IngestThrottledError extends RetriableError {
  constructor(
    readonly retryAfterSeconds: number,
    readonly lagMessages: number,
  ) {
    super(
      IngestErrorCode.throttled,
      `ingest throttled: the alerting consumers are ${lagMessages} records behind; retry after ${retryAfterSeconds} s`,
      { context: { retryAfterSeconds, lagMessages }, retryAfterMs: retryAfterSeconds * 1000 },
    );
  }
}
