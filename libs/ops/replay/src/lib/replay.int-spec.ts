import type { Admin, Consumer } from 'kafkajs';
import type { ResetPlan } from '@qls/kafka';
import { suiteResources, uniqueName, waitFor } from '@qls/testing';
import { type GroupStateRewinder, ReplayService } from './replay.service';

const MINUTE = 60_000;

/**
 * Replays on the real local Kafka. Records carry producer timestamps 10 and 1
 * minutes old, and the replay goes back 5 minutes: exactly the newer ones are
 * read again.
 */
describe('ReplayService (real broker)', () => {
  const suite = suiteResources({ each: true });
  let admin: Admin;
  let service: ReplayService;
  const now = Date.now();
  const since = now - 5 * MINUTE;

  beforeEach(async () => {
    admin = await suite.resources.kafkaAdmin();
    service = new ReplayService(suite.resources.kafka);
    suite.resources.onCleanup(() => service.close());
  });

  /** Per partition: `[old, recent]` record counts (10 and 1 minutes old); the group committed `committed`. */
  async function topicWithGroup(
    layout: readonly [number, number][],
    committed: readonly number[],
  ): Promise<{ topic: string; groupId: string }> {
    const topic = await suite.resources.topic('replay', layout.length);
    const groupId = uniqueName('alerting');
    await suite.resources.produce(
      topic,
      layout.flatMap(([old, recent], partition) => [
        ...Array.from({ length: old }, () => ({ partition, value: 'old', timestamp: String(now - 10 * MINUTE) })),
        ...Array.from({ length: recent }, () => ({ partition, value: 'recent', timestamp: String(now - MINUTE) })),
      ]),
    );
    await admin.setOffsets({ groupId, topic, partitions: committed.map((offset, partition) => ({ partition, offset: String(offset) })) });
    return { topic, groupId };
  }

  const committedOffsets = async (groupId: string, topic: string) =>
    ((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [])
      .sort((a, b) => a.partition - b.partition)
      .map((p) => Number(p.offset));

  it('plans a replay without changing anything, then applies it and the offsets move; it never skips ahead', async () => {
    const { topic, groupId } = await topicWithGroup(
      [
        [6, 4],
        [3, 2],
        [3, 2],
      ],
      [10, 5, 1],
    );

    const plan = await service.plan(groupId, topic, since);

    expect(plan).toMatchObject({
      groupId,
      topic,
      timestamp: since,
      since: new Date(since).toISOString(),
      liveMembers: 0,
      totalReRead: 6,
      blockers: [],
      state: null,
    });
    expect(plan.partitions).toEqual([
      { partition: 0, from: 10, to: 6, reRead: 4, logStartOffset: 0, logEndOffset: 10 },
      { partition: 1, from: 5, to: 3, reRead: 2, logStartOffset: 0, logEndOffset: 5 },
      {
        partition: 2,
        from: 1,
        to: 1,
        reRead: 0,
        logStartOffset: 0,
        logEndOffset: 5,
        note: 'already before the timestamp (2 record(s) behind it): left where it is',
      },
    ]);
    expect(await committedOffsets(groupId, topic)).toEqual([10, 5, 1]);

    const result = await service.apply(plan);

    expect(result.applied).toEqual([
      { partition: 0, offset: 6 },
      { partition: 1, offset: 3 },
      { partition: 2, offset: 1 },
    ]);
    expect(await committedOffsets(groupId, topic)).toEqual([6, 3, 1]);
  });

  it('refuses to apply while the group has a live member, naming how many; and refuses unknown topics and groups', async () => {
    const { topic, groupId } = await topicWithGroup([[2, 2]], [4]);
    const consumer: Consumer = suite.resources.kafka.consumer({ groupId });
    suite.resources.onCleanup(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async () => undefined });
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Stable', {
      timeoutMs: 30_000,
      description: 'the member to join',
    });

    const plan = await service.plan(groupId, topic, since);
    expect(plan.blockers).toEqual([
      `consumer group ${groupId} has 1 live member(s); stop them first (their next commit would overwrite the replay's offsets)`,
    ]);
    await expect(service.apply(plan)).rejects.toMatchObject({
      code: 'REPLAY.GROUP_ACTIVE',
      message: expect.stringContaining('has 1 live member(s)'),
    });
    expect(await committedOffsets(groupId, topic)).toEqual([4]);

    await expect(service.plan(groupId, uniqueName('missing'), since)).rejects.toMatchObject({ code: 'REPLAY.TOPIC_NOT_FOUND' });
    await expect(service.plan(uniqueName('typo'), topic, since)).rejects.toMatchObject({ code: 'REPLAY.GROUP_NOT_FOUND' });
  });

  it("rewinds the group's state first, then sets the offsets where the state says; a failed rewind moves nothing", async () => {
    const { topic, groupId } = await topicWithGroup(
      [
        [6, 4],
        [3, 2],
      ],
      [10, 5],
    );
    const calls: { step: string; committedAtCall?: number[]; plan?: ResetPlan; statePlan?: unknown }[] = [];
    let failWith: Error | undefined;
    const rewinder: GroupStateRewinder = {
      async plan(_group, _topic, _timestamp, kafkaPlan) {
        calls.push({ step: 'plan', plan: kafkaPlan });
        return { savepoints: [{ partition: 0, nextOffset: 4 }] };
      },
      async apply(_group, _topic, _timestamp, _kafkaPlan, statePlan) {
        calls.push({ step: 'apply', committedAtCall: await committedOffsets(groupId, topic), statePlan });
        if (failWith) throw failWith;
        return [{ partition: 0, offset: 4 }]; // partition 0's savepoint is before the timestamp's offset 6
      },
    };
    service.registerRewinder(groupId, rewinder);

    const plan = await service.plan(groupId, topic, since);
    expect(plan.state).toEqual({ plan: { savepoints: [{ partition: 0, nextOffset: 4 }] } });
    expect(calls[0]?.plan?.partitions).toEqual([
      { partition: 0, from: '10', to: '6' },
      { partition: 1, from: '5', to: '3' },
    ]);

    failWith = new Error('savepoint table locked');
    await expect(service.apply(plan)).rejects.toMatchObject({
      code: 'REPLAY.STATE_REWIND_FAILED',
      message: `rewinding the state of ${groupId} failed, so its offsets were not moved: savepoint table locked`,
    });
    expect(await committedOffsets(groupId, topic)).toEqual([10, 5]);

    failWith = undefined;
    const result = await service.apply(plan);
    expect(calls.filter((c) => c.step === 'apply').map((c) => c.committedAtCall)).toEqual([
      [10, 5],
      [10, 5],
    ]); // the offsets had not moved yet when the state was rewound
    expect(calls.at(-1)?.statePlan).toEqual({ savepoints: [{ partition: 0, nextOffset: 4 }] }); // the dry run the operator saw
    expect(result).toMatchObject({
      stateRewound: true,
      applied: [
        { partition: 0, offset: 4 },
        { partition: 1, offset: 3 },
      ],
    });
    expect(await committedOffsets(groupId, topic)).toEqual([4, 3]);
  });

  it('blocks the replay when the state rewinder cannot rewind that far', async () => {
    const { topic, groupId } = await topicWithGroup([[1, 1]], [2]);
    service.registerRewinder(groupId, {
      plan: async () => {
        throw new Error('no savepoint at or before offset 1 (savepoints are kept 24 h)');
      },
      apply: async () => {
        throw new Error('must not be called');
      },
    });

    const plan = await service.plan(groupId, topic, since);

    expect(plan.state).toEqual({ error: 'no savepoint at or before offset 1 (savepoints are kept 24 h)' });
    expect(plan.blockers).toEqual([
      `the state of ${groupId} cannot be rewound: no savepoint at or before offset 1 (savepoints are kept 24 h)`,
    ]);
    await expect(service.apply(plan)).rejects.toMatchObject({ code: 'REPLAY.BLOCKED' });
    expect(await committedOffsets(groupId, topic)).toEqual([2]);
  });
});
