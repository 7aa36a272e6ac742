import { checkOutbox } from './outbox.invariants';

const event = (eventId: string, aggregateId: string) => ({ eventId, aggregateId });

describe('checkOutbox', () => {
  const committed = [event('e1', 'a'), event('e2', 'b'), event('e3', 'a'), event('e4', 'a')];

  it('holds when every committed event arrives, in commit order per aggregate, redeliveries included', () => {
    // A relay that died after publishing e3 and before marking it: e3 again, then the rest.
    const published = [event('e1', 'a'), event('e3', 'a'), event('e2', 'b'), event('e3', 'a'), event('e4', 'a')];
    const report = checkOutbox(committed, published);
    expect(report.violations).toEqual([]);
    expect(report.counts).toEqual({ published: 4, redelivered: 1 });
    expect(report.checked).toBe(4);
  });

  it('finds a committed event that never arrived: lost', () => {
    const report = checkOutbox(committed, [event('e1', 'a'), event('e2', 'b'), event('e4', 'a')]);
    expect(report.violations).toEqual([{ invariant: 'lost', id: 'e3', detail: 'committed for aggregate a, never published' }]);
  });

  it("finds an aggregate whose events first arrived out of commit order, but not another aggregate's interleaving", () => {
    const report = checkOutbox(committed, [event('e2', 'b'), event('e3', 'a'), event('e1', 'a'), event('e4', 'a')]);
    expect(report.violations).toEqual([
      {
        invariant: 'out of order',
        id: 'a',
        detail: 'event e3 arrived first where e1 was committed first (commit order e1, e3, e4; arrivals e3, e1, e4)',
      },
    ]);
  });

  it('finds an event of a rolled-back transaction that was published anyway: phantom', () => {
    const report = checkOutbox(committed, [...committed, event('e9', 'b')], ['e9']);
    expect(report.violations).toEqual([
      { invariant: 'phantom', id: 'e9', detail: 'published for aggregate b, but its transaction rolled back' },
    ]);
  });
});
