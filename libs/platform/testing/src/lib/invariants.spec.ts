import { InvariantCheck, assertInvariants, describeReports, holds } from './invariants';

describe('InvariantCheck', () => {
  it('collects violations and counts into a report', () => {
    const check = new InvariantCheck('queue', ['lost', 'duplicated']);
    check.record();
    check.record();
    check.count('acknowledged', 2);
    check.violated('lost', 'm-2', 'acknowledged, never delivered');
    const report = check.report();
    expect(report).toEqual({
      system: 'queue',
      invariants: ['lost', 'duplicated'],
      checked: 2,
      counts: { acknowledged: 2 },
      violations: [{ invariant: 'lost', id: 'm-2', detail: 'acknowledged, never delivered' }],
    });
    expect(holds(report)).toBe(false);
  });

  it('refuses a violation of an invariant it was not told about (a typo would otherwise hide a category)', () => {
    expect(() => new InvariantCheck('queue', ['lost']).violated('lots', 'm-1', '…')).toThrow('queue: no invariant named "lots"');
  });

  it('asserts several reports at once and names every broken one', () => {
    const ok = new InvariantCheck('feeds', ['diverged']);
    ok.record();
    const broken = new InvariantCheck('queue', ['lost']);
    broken.record();
    broken.violated('lost', 'm-1', 'never delivered');
    expect(() => assertInvariants(ok.report())).not.toThrow();
    expect(() => assertInvariants(ok.report(), broken.report())).toThrow(
      'invariants violated:\nfeeds: 1 checked, every invariant holds\nqueue: 1 checked, 1 violation(s)\n  lost: 1\n    m-1: never delivered',
    );
    expect(describeReports([ok.report()])).toBe('feeds: 1 checked, every invariant holds');
  });
});
