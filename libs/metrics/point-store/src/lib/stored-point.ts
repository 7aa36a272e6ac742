import { z } from 'zod';
import { type MetricPoint, parseMetricPoint, seriesKey } from '@qls/metrics-contracts';
import { PermanentError } from '@qls/messaging';

/** Why a `metrics-raw` record cannot be stored (the `x-error-code` of its dead letter). */
export const RecordErrorCode = {
  empty: 'METRICS.EMPTY_RECORD',
  malformedJson: 'METRICS.MALFORMED_JSON',
  unsupportedVersion: 'METRICS.UNSUPPORTED_SCHEMA_VERSION',
  invalidPoint: 'METRICS.INVALID_POINT',
  unstorable: 'METRICS.UNSTORABLE_POINT',
  rejectedByDatabase: 'STORAGE.REJECTED',
} as const;

/** A record that can never be stored as it is; it goes to the dead-letter topic with `code` and the message as reason. */
export class UnstorableRecordError extends PermanentError {}

/** A point as the storage writes it: the record's fields plus its series key. */
export interface StoredPoint {
  readonly serviceId: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly seriesKey: string;
  /** Event time, epoch milliseconds. */
  readonly timestamp: number;
  readonly value: number;
}

/** The last instant a JavaScript Date (and so the API) can express; Postgres goes further, the API could not read it back. */
const MAX_TIMESTAMP_MS = 8.64e15;

/**
 * Parses a `metrics-raw` record value into the point to store with the
 * contract's `parseMetricPoint` (unknown fields tolerated, another
 * `schemaVersion` refused), then checks what Postgres would refuse: a NUL
 * character in a label value (text and jsonb cannot hold it) and a timestamp
 * beyond year 275760.
 *
 * @throws UnstorableRecordError with the code and the reason (naming the field)
 */
export function toStoredPoint(value: string | null | undefined): StoredPoint {
  if (value === null || value === undefined || value === '')
    throw new UnstorableRecordError(RecordErrorCode.empty, 'the record has no value');
  let point: MetricPoint;
  try {
    point = parseMetricPoint(value);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new UnstorableRecordError(RecordErrorCode.malformedJson, `the record value is not JSON: ${error.message}`);
    }
    if (!(error instanceof z.ZodError)) throw error;
    // A record of another schema version is a poison record of its own kind (the contract tolerates everything else new).
    const version = (JSON.parse(value) as { schemaVersion?: unknown } | null)?.schemaVersion;
    if (version !== undefined && version !== 1) {
      throw new UnstorableRecordError(
        RecordErrorCode.unsupportedVersion,
        `schemaVersion ${JSON.stringify(version)} is not supported (expected 1)`,
      );
    }
    throw new UnstorableRecordError(RecordErrorCode.invalidPoint, describe(error));
  }
  if (point.timestamp > MAX_TIMESTAMP_MS) {
    throw new UnstorableRecordError(
      RecordErrorCode.unstorable,
      `timestamp: ${point.timestamp} is beyond the last storable instant (${MAX_TIMESTAMP_MS})`,
    );
  }
  for (const [label, text] of Object.entries(point.labels)) {
    if (text.includes('\u0000')) throw new UnstorableRecordError(RecordErrorCode.unstorable, `labels.${label}: contains a NUL character`);
  }
  return {
    serviceId: point.serviceId,
    name: point.name,
    labels: point.labels,
    seriesKey: seriesKey(point),
    timestamp: point.timestamp,
    value: point.value,
  };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'value'}: ${issue.message}`)
    .join('; ');
}
