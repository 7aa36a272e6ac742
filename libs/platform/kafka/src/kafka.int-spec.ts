import { SpanKind, trace } from '@opentelemetry/api';
import { type InboundMessage, RetriableError } from '@qls/messaging';
import { startTestTelemetry } from '@qls/observability/testing';
import { TestResources, uniqueName, waitFor } from '@qls/testing';
import { KafkaConsumer, KafkaGroupAdmin, KafkaPublisher } from './index';

/**
 * What the chapter relies on from a log, proven on the real local Kafka
 * (KRaft, 4.x) through kafkajs and this library's adapters.
 */
describe('Kafka (real broker)', () => {
  let resources: TestResources;
  let publisher: KafkaPublisher;
  let running: KafkaConsumer[];

  beforeEach(() => {
    resources = new TestResources();
    publisher = new KafkaPublisher(resources.kafka);
    running = [];
  });

  afterEach(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await publisher.close();
    await resources.cleanup();
  });

  async function consume(
    groupId: string,
    topic: string,
    handler: (m: InboundMessage) => Promise<void>,
    deadLetterTopic = 'unused-dlt',
  ): Promise<KafkaConsumer> {
    const consumer = new KafkaConsumer(resources.kafka, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      deadLetterTopic,
      deadLetterPublisher: publisher,
      retry: { initialMs: 20, maxMs: 100 },
    });
    running.push(consumer);
    await consumer.start(handler);
    return consumer;
  }

  async function stop(consumer: KafkaConsumer): Promise<void> {
    running = running.filter((c) => c !== consumer);
    await consumer.stop();
  }

  async function waitForStableGroup(groupId: string, members: number): Promise<void> {
    const admin = resources.kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const [group] = (await admin.describeGroups([groupId])).groups;
          return group?.state === 'Stable' && group.members.length === members;
        },
        { timeoutMs: 30_000, intervalMs: 200, description: `group ${groupId} to be stable with ${members} members` },
      );
    } finally {
      await admin.disconnect();
    }
  }

  const seqOf = (m: InboundMessage) => (JSON.parse(m.body) as { seq: number }).seq;
  const partitionOf = (m: InboundMessage) => (m.source.system === 'kafka' ? m.source.partition : -1);
  const records = (from: number, count: number, keys: number) =>
    Array.from({ length: count }, (_, i) => ({ key: `key-${(from + i) % keys}`, body: JSON.stringify({ seq: from + i }) }));

  it('gives every record to each consumer group while two members of one group split the partitions', async () => {
    const topic = await resources.topic('groups', 4);
    const storage = new Set<string>();
    const members = [new Map<string, number>(), new Map<string, number>()];
    const alertingGroup = uniqueName('alerting');
    await consume(uniqueName('storage'), topic, async (m) => void storage.add(m.id));
    for (const seen of members) await consume(alertingGroup, topic, async (m) => void seen.set(m.id, partitionOf(m)));
    await waitForStableGroup(alertingGroup, 2);

    await publisher.publish(topic, records(0, 200, 40));

    const alerting = () => new Set([...members[0].keys(), ...members[1].keys()]);
    await waitFor(() => storage.size === 200 && alerting().size === 200, {
      timeoutMs: 30_000,
      description: 'both groups to read all 200 records',
    });
    const [partitionsA, partitionsB] = members.map((seen) => new Set(seen.values()));
    expect(partitionsA.size).toBeGreaterThan(0);
    expect(partitionsB.size).toBeGreaterThan(0);
    expect([...partitionsA].filter((p) => partitionsB.has(p))).toEqual([]);
    expect(partitionsA.size + partitionsB.size).toBe(4);
  });

  it('keeps per-key order within a partition across many publishes', async () => {
    const topic = await resources.topic('order', 4);
    for (let batch = 0; batch < 10; batch++) await publisher.publish(topic, records(batch * 100, 100, 10));

    const byKey = new Map<string, { seq: number; partition: number }[]>();
    let total = 0;
    await consume(uniqueName('order'), topic, async (m) => {
      const key = m.key ?? '';
      byKey.set(key, [...(byKey.get(key) ?? []), { seq: seqOf(m), partition: partitionOf(m) }]);
      total++;
    });
    await waitFor(() => total === 1000, { timeoutMs: 30_000, description: '1000 records' });

    expect(byKey.size).toBe(10);
    for (const [key, seen] of byKey) {
      expect({ key, partitions: new Set(seen.map((s) => s.partition)).size }).toEqual({ key, partitions: 1 });
      const seqs = seen.map((s) => s.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });

  it('resets a group to a timestamp (refused while members are live) and re-reads from there', async () => {
    const topic = await resources.topic('replay', 3);
    const groupId = uniqueName('replay');
    await publisher.publish(topic, records(0, 30, 6));
    const replayFrom = Date.now() + 1;
    await waitFor(() => Date.now() > replayFrom, { description: 'the clock to pass the replay point' });
    await publisher.publish(topic, records(100, 30, 6));

    const firstPass: number[] = [];
    const member = await consume(groupId, topic, async (m) => void firstPass.push(seqOf(m)));
    await waitFor(() => firstPass.length === 60, { timeoutMs: 30_000, description: 'the first pass over 60 records' });

    const admin = new KafkaGroupAdmin(resources.kafka);
    resources.onCleanup(() => admin.close());
    const plan = await admin.planResetToTimestamp(groupId, topic, replayFrom);
    expect(plan.partitions).toHaveLength(3);
    await expect(admin.applyReset(plan)).rejects.toMatchObject({ code: 'KAFKA.GROUP_ACTIVE' });

    await stop(member);
    await admin.applyReset(plan);
    const committed = await admin.committedOffsets(groupId, topic);
    expect(committed.map((p) => p.offset)).toEqual(plan.partitions.map((p) => p.to));

    const replayed: number[] = [];
    await consume(groupId, topic, async (m) => void replayed.push(seqOf(m)));
    await waitFor(() => replayed.length === 30, { timeoutMs: 30_000, description: 'the replay of 30 records' });
    expect([...replayed].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
  });

  it('retries a retriable failure in place, holding back later records of the partition', async () => {
    const topic = await resources.topic('retry', 1);
    await publisher.publish(topic, records(0, 10, 1));
    const handled: { seq: number; attempt: number }[] = [];
    await consume(uniqueName('retry'), topic, async (m) => {
      if (seqOf(m) === 5 && m.attempt < 3) throw new RetriableError('TEST.FLAKY', 'dependency unavailable');
      handled.push({ seq: seqOf(m), attempt: m.attempt });
    });
    await waitFor(() => handled.length === 10, { timeoutMs: 30_000, description: '10 handled records' });
    expect(handled.map((h) => h.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(handled[5]).toEqual({ seq: 5, attempt: 3 });
  });

  it('sends a record whose handler fails permanently to the dead-letter topic with the reason, and moves on', async () => {
    const topic = await resources.topic('poison', 1);
    const deadLetterTopic = await resources.topic('poison-dlt', 1);
    await publisher.publish(topic, [
      { key: 'a', body: '{"seq":1}' },
      { key: 'a', body: 'not json' },
      { key: 'a', body: '{"seq":3}' },
    ]);
    const handled: number[] = [];
    await consume(uniqueName('poison'), topic, async (m) => void handled.push(JSON.parse(m.body).seq), deadLetterTopic);
    const deadLetters: InboundMessage[] = [];
    await consume(uniqueName('dlt-reader'), deadLetterTopic, async (m) => void deadLetters.push(m));

    await waitFor(() => handled.length === 2 && deadLetters.length === 1, {
      timeoutMs: 30_000,
      description: 'two handled, one dead-lettered',
    });
    expect(handled).toEqual([1, 3]);
    expect(deadLetters[0]).toMatchObject({
      key: 'a',
      body: 'not json',
      headers: { 'x-error-code': 'SyntaxError', 'x-original-source': `${topic}/0/1` },
    });
    expect(deadLetters[0].headers['x-error-reason']).toMatch(/JSON/);
  });

  it('dead-letters a record after maxAttempts retriable failures when configured to give up', async () => {
    const topic = await resources.topic('give-up', 1);
    const deadLetterTopic = await resources.topic('give-up-dlt', 1);
    await publisher.publish(topic, [{ key: 'k', body: '{"seq":1}' }]);
    const consumer = new KafkaConsumer(resources.kafka, {
      groupId: uniqueName('give-up'),
      topics: [topic],
      fromBeginning: true,
      deadLetterTopic,
      deadLetterPublisher: publisher,
      retry: { initialMs: 10, maxMs: 20 },
      maxAttempts: 3,
    });
    running.push(consumer);
    let attempts = 0;
    await consumer.start(async () => {
      attempts++;
      throw new RetriableError('TEST.DOWN', 'still down');
    });
    const deadLetters: InboundMessage[] = [];
    await consume(uniqueName('dlt-reader'), deadLetterTopic, async (m) => void deadLetters.push(m));
    await waitFor(() => deadLetters.length === 1, { timeoutMs: 30_000, description: 'the record in the dead-letter topic' });
    expect(attempts).toBe(3);
    expect(deadLetters[0].headers['x-error-code']).toBe('TEST.DOWN');
  });

  it('carries the trace context in Kafka headers from the publisher to the handler', async () => {
    const telemetry = startTestTelemetry();
    try {
      const topic = await resources.topic('traced', 1);
      const seen: { traceId: string | undefined; traceparent: string | undefined }[] = [];
      await consume(uniqueName('traced'), topic, async (m) => {
        seen.push({ traceId: trace.getActiveSpan()?.spanContext().traceId, traceparent: m.headers['traceparent'] });
      });
      await trace.getTracer('test').startActiveSpan('POST /things', async (span) => {
        await publisher.publish(topic, [{ key: 'k', body: '{}' }]);
        span.end();
      });
      await waitFor(() => seen.length === 1, { timeoutMs: 30_000, description: 'the traced record' });

      const spans = telemetry.spans();
      const root = spans.find((s) => s.name === 'POST /things');
      const send = spans.find((s) => s.name === `send ${topic}`);
      const processSpan = await waitFor(() => telemetry.spans().find((s) => s.name === `process ${topic}`), {
        description: 'the process span',
      });
      expect(root).toBeDefined();
      expect(send?.kind).toBe(SpanKind.PRODUCER);
      expect(send?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
      expect(processSpan.kind).toBe(SpanKind.CONSUMER);
      expect(processSpan.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      expect(seen[0].traceId).toBe(root?.spanContext().traceId);
      expect(seen[0].traceparent).toContain(root?.spanContext().traceId);
    } finally {
      await telemetry.shutdown();
    }
  });

  it('rejects a publish to a topic that does not exist instead of creating it', async () => {
    await expect(publisher.publish(uniqueName('missing'), [{ body: 'x' }])).rejects.toBeInstanceOf(Error);
  });
});
