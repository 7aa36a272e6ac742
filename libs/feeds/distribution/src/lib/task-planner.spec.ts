import type { FollowerChunk } from '@qls/feed-timeline';
import type { MessagePublisher, OutboundMessage } from '@qls/messaging';
import { decodeTask } from './fan-out-task';
import { FanOutPlanner } from './task-planner';

/** Keyset chunks over an in-memory sorted follower list, as FollowGraph.followerChunks yields them. */
function graphOf(followers: readonly string[]) {
  const sorted = [...followers].sort();
  return {
    reads: 0,
    async *followerChunks(_followee: string, size: number): AsyncIterable<FollowerChunk> {
      for (let start = 0; start < sorted.length; start += size) {
        this.reads++;
        yield {
          afterFollowerId: start === 0 ? null : (sorted[start - 1] as string),
          lastFollowerId: sorted[Math.min(start + size, sorted.length) - 1] as string,
        };
      }
    },
  };
}

function recordingPublisher(failOnCall?: number): MessagePublisher & { calls: OutboundMessage[][] } {
  const calls: OutboundMessage[][] = [];
  return {
    calls,
    async publish(_destination, messages) {
      if (calls.length + 1 === failOnCall) throw new Error('SQS unavailable');
      calls.push([...messages]);
    },
    close: () => Promise.resolve(),
  };
}

const post = { action: 'add' as const, postId: '6f1c7a52-0d57-4f8e-9a43-0a0e2f3c1b11', authorId: 'star', score: 42, committedAt: 1_000 };
const ids = (n: number) => Array.from({ length: n }, (_, i) => `f${String(i).padStart(6, '0')}`);

describe('FanOutPlanner', () => {
  it('cuts 10,500 followers into 11 tasks of ≤ 1,000 sent in batches of 10, bounds covering each follower once', async () => {
    const followers = ids(10_500);
    const publisher = recordingPublisher();
    const planner = new FanOutPlanner({ graph: graphOf(followers), publisher, queueUrl: 'q' });

    expect(await planner.plan(post, new Date(5_000))).toBe(11);

    expect(publisher.calls.map((batch) => batch.length)).toEqual([10, 1]);
    const tasks = publisher.calls.flat().map((m) => decodeTask(m.body));
    expect(tasks.map((t) => t.taskIndex)).toEqual([...Array(11).keys()]);
    expect(tasks[0]).toMatchObject({ ...post, schemaVersion: 1, afterFollowerId: null, lastFollowerId: 'f000999', activeSince: 5_000 });
    const covered = tasks.flatMap((t) =>
      followers.filter((f) => (t.afterFollowerId === null || f > t.afterFollowerId) && f <= t.lastFollowerId),
    );
    expect(covered).toEqual(followers);
  });

  it('sends no task for an author without followers', async () => {
    const publisher = recordingPublisher();
    expect(await new FanOutPlanner({ graph: graphOf([]), publisher, queueUrl: 'q' }).plan(post)).toBe(0);
    expect(publisher.calls).toEqual([]);
  });

  it('honours the task size and leaves activeSince null without an active period', async () => {
    const publisher = recordingPublisher();
    const planner = new FanOutPlanner({ graph: graphOf(ids(25)), publisher, queueUrl: 'q', taskSize: 10 });
    expect(await planner.plan({ ...post, action: 'remove' })).toBe(3);
    const tasks = publisher.calls.flat().map((m) => decodeTask(m.body));
    expect(tasks.map((t) => [t.afterFollowerId, t.lastFollowerId, t.action, t.activeSince])).toEqual([
      [null, 'f000009', 'remove', null],
      ['f000009', 'f000019', 'remove', null],
      ['f000019', 'f000024', 'remove', null],
    ]);
  });

  it('fails the plan when a batch cannot be sent, and stops reading chunks', async () => {
    const graph = graphOf(ids(100_000));
    const planner = new FanOutPlanner({ graph, publisher: recordingPublisher(2), queueUrl: 'q', maxInFlight: 1 });
    await expect(planner.plan(post)).rejects.toThrow('SQS unavailable');
    expect(graph.reads).toBeLessThan(40);
  });
});
