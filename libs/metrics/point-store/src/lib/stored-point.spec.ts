import { encodeMetricPoint } from '@qls/metrics-contracts';
import { isDataError } from './metric-points.store';
import { RecordErrorCode, UnstorableRecordError, toStoredPoint } from './stored-point';

const point = { serviceId: 'checkout', name: 'latency_ms', value: 12.5, timestamp: 1_700_000_000_000, labels: { region: 'eu', pod: 'a' } };

function refusal(value: string | null): { code: string; message: string } {
  try {
    toStoredPoint(value);
  } catch (error) {
    if (error instanceof UnstorableRecordError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an UnstorableRecordError');
}

describe('toStoredPoint', () => {
  it('reads a metrics-raw v1 record, with its series key (labels sorted), tolerating unknown fields', () => {
    const value = JSON.stringify({ ...JSON.parse(encodeMetricPoint(point)), unit: 'ms' });
    expect(toStoredPoint(value)).toEqual({ ...point, seriesKey: 'checkout|latency_ms|pod=a|region=eu' });
  });

  it('refuses, with a code and a reason naming the field, what it cannot store', () => {
    expect(refusal(null)).toEqual({ code: RecordErrorCode.empty, message: 'the record has no value' });
    expect(refusal('{"schemaVersion":1,')).toMatchObject({ code: RecordErrorCode.malformedJson });
    expect(refusal(JSON.stringify({ ...point, schemaVersion: 2 }))).toEqual({
      code: RecordErrorCode.unsupportedVersion,
      message: 'schemaVersion 2 is not supported (expected 1)',
    });
    expect(refusal(JSON.stringify({ ...point, schemaVersion: 1, value: 'high' }))).toMatchObject({
      code: RecordErrorCode.invalidPoint,
      message: expect.stringMatching(/^value: /),
    });
    expect(refusal(JSON.stringify({ ...point, schemaVersion: 1, labels: { pod: 'a\u0000b' } }))).toEqual({
      code: RecordErrorCode.unstorable,
      message: 'labels.pod: contains a NUL character',
    });
    expect(refusal(JSON.stringify({ ...point, schemaVersion: 1, timestamp: 9e15 }))).toMatchObject({
      code: RecordErrorCode.unstorable,
      message: expect.stringMatching(/^timestamp: /),
    });
  });
});

describe('isDataError', () => {
  it('is true for data and constraint errors only: everything else is worth retrying', () => {
    expect(isDataError({ code: '23514' })).toBe(true); // check_violation
    expect(isDataError({ code: '22P05' })).toBe(true); // untranslatable_character
    expect(isDataError({ code: '57014' })).toBe(false); // statement timeout
    expect(isDataError({ code: '40P01' })).toBe(false); // deadlock
    expect(isDataError({ code: '42P01' })).toBe(false); // missing table: provisioning, not the points
    expect(isDataError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isDataError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});
