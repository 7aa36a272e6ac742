import type { QueueDepth } from './sqs.queues';
import { watchQueueDepth } from './sqs.queues';

const depth = (visible: number): QueueDepth => ({ visible, inFlight: visible * 2, delayed: 0 });

describe('watchQueueDepth', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands the depth over at once and on every interval, skips a failed read, and reads no more once stopped', async () => {
    const answers = [depth(3), new Error('SQS away'), depth(5), depth(8)];
    const read = jest.fn(async () => {
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer as QueueDepth;
    });
    const seen: number[] = [];

    const stop = await watchQueueDepth(read, (d) => seen.push(d.visible), 1_000);
    expect(seen).toEqual([3]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual([3]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual([3, 5]);

    stop();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(read).toHaveBeenCalledTimes(3);
    expect(seen).toEqual([3, 5]);
  });
});
