// drop-system: notifications
import { assertInvariants, describeReports, holds } from '@qls/testing';
import { type NotificationRecords, type NotificationRow, type ProviderSend, checkNotifications } from './notifications.invariants';

const NOW = Date.UTC(2026, 11, 5, 12);
const options = { maxProviderAttempts: 3, settleWithinMs: 60_000, now: NOW };

const row = (id: string, status: string, extra: Partial<NotificationRow> = {}): NotificationRow => ({
  id,
  status,
  providerFailures: 0,
  lastError: null,
  updatedAt: NOW - 1_000,
  ...extra,
});
const sent = (id: string, duplicate = false): ProviderSend => ({ notificationId: id, duplicate });
const acked = (...ids: string[]) => ids.map((id) => ({ id }));

/** A run where every promise held: two sent (one after a redundant call), one dead-lettered after 3 failures, one permanent. */
function healthyRun(): NotificationRecords {
  return {
    rows: [
      row('n-1', 'sent'),
      row('n-2', 'sent', { providerFailures: 2 }),
      row('n-3', 'dead_lettered', { providerFailures: 3, lastError: 'PROVIDER.UNAVAILABLE: 3 of 3 provider attempts failed' }),
      row('n-4', 'dead_lettered', { providerFailures: 1, lastError: 'PROVIDER.REJECTED: invalid device token' }),
    ],
    sends: [sent('n-1'), sent('n-2'), sent('n-2', true)],
    deadLetters: [
      { notificationId: 'n-3', reason: '3 of 3 provider attempts failed' },
      { notificationId: 'n-4', reason: 'invalid device token' },
    ],
  };
}

describe('checkNotifications', () => {
  it('holds for a run that kept every promise, and counts what it saw', () => {
    const report = checkNotifications(acked('n-1', 'n-2', 'n-3', 'n-4'), healthyRun(), options);
    expect(report.violations).toEqual([]);
    expect(holds(report)).toBe(true);
    expect(report.checked).toBe(4);
    expect(report.counts).toEqual({ sent: 2, 'dead-lettered': 2, 'redundant provider calls': 1 });
    expect(() => assertInvariants(report)).not.toThrow();
  });

  it('finds a notification acknowledged before it was recorded (the API answered 202, no row holds it): lost', () => {
    const report = checkNotifications(acked('n-1', 'n-2', 'n-3', 'n-4', 'n-5'), healthyRun(), options);
    expect(report.violations).toEqual([{ invariant: 'lost', id: 'n-5', detail: 'acknowledged (202) but no notifications row holds it' }]);
    expect(() => assertInvariants(report)).toThrow(/lost: 1\n {4}n-5: acknowledged \(202\) but no notifications row holds it/);
  });

  it('finds a status of sent that no provider call backs: lost', () => {
    const run = healthyRun();
    const report = checkNotifications(
      acked('n-1', 'n-2', 'n-3', 'n-4'),
      { ...run, sends: run.sends.filter((s) => s.notificationId !== 'n-1') },
      options,
    );
    expect(report.violations).toEqual([{ invariant: 'lost', id: 'n-1', detail: 'status sent, but no provider accepted it' }]);
  });

  it('finds a notification the provider accepted twice under two keys: duplicated', () => {
    const run = healthyRun();
    const report = checkNotifications(acked('n-1', 'n-2', 'n-3', 'n-4'), { ...run, sends: [...run.sends, sent('n-1')] }, options);
    expect(report.violations).toEqual([{ invariant: 'duplicated', id: 'n-1', detail: 'the provider accepted it 2 times (status sent)' }]);
  });

  it('finds a dead letter after one transient failure (a crash or a busy receive counted as a failure): wrongly dead-lettered', () => {
    const run = healthyRun();
    const rows = [...run.rows, row('n-5', 'dead_lettered', { providerFailures: 1, lastError: 'PROVIDER.UNAVAILABLE: timeout' })];
    const deadLetters = [...(run.deadLetters ?? []), { notificationId: 'n-5', reason: 'timeout' }];
    const report = checkNotifications(acked('n-1', 'n-2', 'n-3', 'n-4', 'n-5'), { ...run, rows, deadLetters }, options);
    expect(report.violations).toEqual([
      {
        invariant: 'wrongly dead-lettered',
        id: 'n-5',
        detail: '1 of 3 provider attempts failed, and PROVIDER.UNAVAILABLE is not permanent: "PROVIDER.UNAVAILABLE: timeout"',
      },
    ]);
  });

  it("counts the queue's receive limit (the safety net) as a wrong dead letter when the provider failed fewer than N times", () => {
    const report = checkNotifications(
      acked('n-1'),
      {
        rows: [row('n-1', 'dead_lettered', { providerFailures: 0, lastError: 'SQS.MAX_RECEIVES: received 10 times' })],
        sends: [],
      },
      options,
    );
    expect(report.violations.map((v) => v.invariant)).toEqual(['wrongly dead-lettered']);
  });

  it('finds a dead-lettered status the provider contradicts, and a dead letter without a reason', () => {
    const report = checkNotifications(
      acked('n-1', 'n-2'),
      {
        rows: [
          row('n-1', 'dead_lettered', { providerFailures: 3, lastError: 'PROVIDER.UNAVAILABLE: 3 of 3' }),
          row('n-2', 'dead_lettered'),
        ],
        sends: [sent('n-1')],
        deadLetters: [
          { notificationId: 'n-1', reason: '3 of 3' },
          { notificationId: 'n-2', reason: undefined },
        ],
      },
      options,
    );
    expect(report.violations.map((v) => `${v.invariant} ${v.id}`)).toEqual([
      'status not the truth n-1',
      'dead-lettered without a reason n-2',
      'wrongly dead-lettered n-2',
      'dead-lettered without a reason n-2',
    ]);
  });

  it('finds a row still sending past the bound, and only counts one within it', () => {
    const report = checkNotifications(
      acked('n-1', 'n-2'),
      {
        rows: [row('n-1', 'sending', { updatedAt: NOW - 61_000 }), row('n-2', 'failed', { updatedAt: NOW - 59_000 })],
        sends: [sent('n-1')],
      },
      options,
    );
    expect(report.violations).toEqual([
      { invariant: 'not settled', id: 'n-1', detail: 'sending for 61 s (bound 60 s); the provider accepted it' },
    ]);
    expect(report.counts['still settling']).toBe(1);
  });

  it('finds a dead-lettered row whose message is not in the DLQ, only when given the DLQ', () => {
    const run = healthyRun();
    const withoutLetters = { ...run, deadLetters: run.deadLetters?.filter((letter) => letter.notificationId !== 'n-3') ?? [] };
    expect(checkNotifications(acked('n-3'), withoutLetters, options).violations).toEqual([
      { invariant: 'dead-lettered without a dead letter', id: 'n-3', detail: 'status dead_lettered, but no message of the DLQ is for it' },
    ]);
    const { deadLetters: _unused, ...withoutQueue } = withoutLetters;
    expect(checkNotifications(acked('n-3'), withoutQueue, options).violations).toEqual([]);
  });

  it('says per invariant how many broke and shows the first few', () => {
    const rows = Array.from({ length: 7 }, (_, i) => row(`n-${i}`, 'queued', { updatedAt: NOW - 120_000 }));
    const text = describeReports([checkNotifications(acked(), { rows, sends: [] }, options)], 2);
    expect(text).toBe(
      [
        'notifications: 7 checked, 7 violation(s) (rows nobody was told about 7)',
        '  not settled: 7',
        '    n-0: queued for 120 s (bound 60 s)',
        '    n-1: queued for 120 s (bound 60 s)',
        '    … and 5 more',
      ].join('\n'),
    );
  });
});
