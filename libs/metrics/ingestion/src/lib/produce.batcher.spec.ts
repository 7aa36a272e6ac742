import type { MessagePublisher, OutboundMessage } from '@qls/messaging';
import { ProduceBatcher } from './produce.batcher';

/**
 * The batching logic alone, against a publisher whose sends the test
 * completes by hand (the batcher's work with the real broker is in
 * produce.batcher.int-spec.ts).
 */
class ManualPublisher implements MessagePublisher {
  readonly sends: { topic: string; bodies: string[]; ack(): void; fail(error: Error): void }[] = [];

  publish(topic: string, messages: readonly OutboundMessage[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sends.push({ topic, bodies: messages.map((m) => m.body), ack: resolve, fail: reject });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const records = (prefix: string, count: number): OutboundMessage[] =>
  Array.from({ length: count }, (_, i) => ({ key: prefix, body: `${prefix}-${i}` }));

/** Lets the promise callbacks queued so far run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function track(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'resolved'),
    (error: unknown) => Object.assign(tracked, { state: 'rejected', error }),
  );
  return tracked;
}

describe('ProduceBatcher', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('sends the records of concurrent callers in one batch after the linger, resolving each caller only when it is acknowledged', async () => {
    const publisher = new ManualPublisher();
    const batcher = new ProduceBatcher({ publisher, topic: 'metrics', lingerMs: 5 });
    const a = track(batcher.send(records('a', 3)));
    const b = track(batcher.send(records('b', 2)));

    jest.advanceTimersByTime(4);
    expect(publisher.sends).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(publisher.sends.map((s) => s.bodies)).toEqual([['a-0', 'a-1', 'a-2', 'b-0', 'b-1']]);
    await settle();
    expect([a.state, b.state]).toEqual(['pending', 'pending']);

    publisher.sends[0]?.ack();
    await settle();
    expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
  });

  it('sends at once when a batch reaches its record or byte limit, never splitting one caller', () => {
    const publisher = new ManualPublisher();
    const batcher = new ProduceBatcher({ publisher, topic: 'metrics', maxBatchRecords: 4, maxBatchBytes: 1_000 });
    void batcher.send(records('a', 3));
    void batcher.send(records('b', 3));
    void batcher.send([{ body: 'x'.repeat(1_000) }]);

    expect(publisher.sends.map((s) => s.bodies.length)).toEqual([6, 1]);
  });

  it('rejects the callers of a failed batch with its error, and only them', async () => {
    const publisher = new ManualPublisher();
    const batcher = new ProduceBatcher({ publisher, topic: 'metrics', maxBatchRecords: 2 });
    const failed = track(batcher.send(records('a', 2)));
    const fine = track(batcher.send(records('b', 2)));

    publisher.sends[0]?.fail(new Error('broker gone'));
    publisher.sends[1]?.ack();
    await settle();

    expect(failed).toMatchObject({ state: 'rejected', error: new Error('broker gone') });
    expect(fine.state).toBe('resolved');
  });

  it('while every send slot is busy, gathers records into the next batch and sends it when a slot frees', async () => {
    const publisher = new ManualPublisher();
    const batches: number[] = [];
    const batcher = new ProduceBatcher({ publisher, topic: 'metrics', lingerMs: 1, maxInFlight: 1, onBatch: (n) => batches.push(n) });
    void batcher.send(records('a', 1));
    jest.advanceTimersByTime(1);
    for (const name of ['b', 'c', 'd']) void batcher.send(records(name, 2));
    jest.advanceTimersByTime(10);
    expect(publisher.sends).toHaveLength(1);

    publisher.sends[0]?.ack();
    await settle();
    expect(publisher.sends.map((s) => s.bodies.length)).toEqual([1, 6]);
    publisher.sends[1]?.ack();
    await settle();
    expect(batches).toEqual([1, 6]);
  });

  it('on close sends what is pending, waits for it, then refuses new records', async () => {
    const publisher = new ManualPublisher();
    const batcher = new ProduceBatcher({ publisher, topic: 'metrics', lingerMs: 1_000 });
    const pending = track(batcher.send(records('a', 2)));
    const closed = track(batcher.close());
    await settle();
    expect(publisher.sends).toHaveLength(1);
    expect(closed.state).toBe('pending');

    publisher.sends[0]?.ack();
    await settle();
    expect([pending.state, closed.state]).toEqual(['resolved', 'resolved']);
    await expect(batcher.send(records('late', 1))).rejects.toMatchObject({ code: 'INGEST.CLOSED' });
  });
});
