import { NestFactory } from '@nestjs/core';
import type { Admin, Consumer } from 'kafkajs';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { ReplayService } from '@qls/stream-replay';
import { listenLocally, operatorTokens, suiteResources, uniqueName, waitFor } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);
import { EXIT, runReplayCommand } from './replay-command';

const MINUTE = 60_000;

/**
 * The app in this process (Nest on port 0) against topics and groups of its
 * own on the local Kafka: what operators and Prometheus see.
 */
describe('stream-ops', () => {
  const service = 'stream-ops';
  const suite = suiteResources({ each: true });
  let admin: Admin;

  beforeEach(async () => {
    admin = await suite.resources.kafkaAdmin();
  });

  async function start(env: Record<string, string>): Promise<string> {
    const config = loadConfig(configSchema, {
      ...process.env,
      ...(await ops).env,
      LOG_LEVEL: 'silent',
      LAG_POLL_INTERVAL_MS: '200',
      ...env,
    });
    const app = await NestFactory.create(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      logger: false,
      abortOnError: false,
    });
    suite.resources.onCleanup(() => app.close());
    return listenLocally(app);
  }

  /** A topic whose partition 0 holds 6 records 10 minutes old then 4 records 1 minute old; the group committed `committed`. */
  async function topicWithGroup(committed: number, config: Record<string, string> = {}): Promise<{ topic: string; groupId: string }> {
    const topic = await suite.resources.topic('stream-ops', 1, config);
    const groupId = uniqueName('alerting');
    const now = Date.now();
    const timestamps = [...Array.from({ length: 6 }, () => now - 10 * MINUTE), ...Array.from({ length: 4 }, () => now - MINUTE)];
    await suite.resources.produce(
      topic,
      timestamps.map((ts, i) => ({ value: `r${i}`, timestamp: String(ts) })),
    );
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(committed) }] });
    return { topic, groupId };
  }

  const committed = async (groupId: string, topic: string) =>
    Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset);

  async function json(response: Response | Promise<Response>): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await response;
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('reports the lag of the monitored groups on /lag and /metrics, names unreadable ones, and is ready', async () => {
    const { topic, groupId } = await topicWithGroup(2, { 'retention.ms': String(60 * MINUTE) });
    const missing = uniqueName('missing');
    const url = await start({ LAG_GROUPS: `${groupId}:${topic},${groupId}:${missing}` });

    const lag = await json(fetch(`${url}/lag`));
    expect(lag.status).toBe(200);
    expect(lag.body['unread']).toEqual([{ group: groupId, topic: missing, error: `topic ${missing} does not exist` }]);
    const [view] = lag.body['groups'] as Record<string, unknown>[];
    expect(view).toMatchObject({
      group: groupId,
      topic,
      status: 'STOP',
      members: 0,
      totalLag: 8,
      retention: { retentionMs: 60 * MINUTE, critical: false },
      hotPartition: null,
      partitions: [
        {
          partition: 0,
          status: 'STOP',
          committedOffset: 2,
          logEndOffset: 10,
          lag: 8,
          owned: false,
          oldestUnconsumedAt: expect.any(String),
        },
      ],
    });
    const [partition] = (view?.['partitions'] ?? []) as { timeLagSeconds: number; retentionUsedRatio: number }[];
    expect(partition?.timeLagSeconds).toBeGreaterThanOrEqual(600);
    expect(partition?.retentionUsedRatio).toBeGreaterThan(600 / 3_600);

    expect(await json(fetch(`${url}/lag/${groupId}`))).toMatchObject({
      status: 200,
      body: { group: groupId, topics: [{ topic, status: 'STOP' }] },
    });
    expect(await json(fetch(`${url}/lag/nobody`))).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: `consumer group nobody is not monitored (LAG_GROUPS has ${groupId})` } },
    });

    const scrape = await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return text.includes(`kafka_consumergroup_lag{group="${groupId}",topic="${topic}",partition="0"`) && text;
      },
      { description: 'the lag series in /metrics' },
    );
    const value = (name: string, labels: string) => {
      const line = scrape.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value('kafka_consumergroup_lag', `group="${groupId}",topic="${topic}",partition="0"`)).toBe(8);
    expect(value('kafka_consumergroup_status', `group="${groupId}",topic="${topic}",status="STOP"`)).toBe(1);
    expect(value('kafka_consumergroup_lag_seconds', `group="${groupId}",topic="${topic}",partition="0"`)).toBeGreaterThanOrEqual(600);
    expect(value('kafka_lag_monitor_poll_failures_total', `group="${groupId}",topic="${missing}"`)).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  });

  it('replays a group over HTTP and from the CLI: dry run by default, applied on request, refused while a member is live', async () => {
    const { topic, groupId } = await topicWithGroup(10);
    const url = await start({ LAG_GROUPS: `${groupId}:${topic}` });
    const replay = `${url}/groups/${groupId}/replay`;

    const dryRun = await json(post(replay, { topic, minutesAgo: 5 }));
    expect(dryRun).toMatchObject({
      status: 200,
      body: {
        dryRun: true,
        plan: { groupId, topic, totalReRead: 4, blockers: [], partitions: [{ partition: 0, from: 10, to: 6, reRead: 4 }] },
      },
    });
    expect(await committed(groupId, topic)).toBe(10);

    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const cli = (...args: string[]) => runReplayCommand(args, () => new ReplayService(suite.resources.kafka), io);
    expect(await cli('--group', groupId, '--topic', topic, '--minutes-ago', '5')).toBe(EXIT.ok);
    expect(out.join('')).toContain(`Replay of consumer group ${groupId} on ${topic} from `);
    expect(out.join('')).toMatch(/^ +0 +10 +6 +4$/m); // partition, from, to, re-read
    expect(out.join('')).toContain('Dry run: nothing changed. Add --apply to replay.');

    const applied = await json(post(replay, { topic, timestamp: new Date(Date.now() - 5 * MINUTE).toISOString(), dryRun: false }));
    expect(applied).toMatchObject({ status: 200, body: { dryRun: false, applied: [{ partition: 0, offset: 6 }], stateRewound: false } });
    expect(await committed(groupId, topic)).toBe(6);

    const consumer: Consumer = suite.resources.kafka.consumer({ groupId });
    suite.resources.onCleanup(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async () => undefined });
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Stable', {
      timeoutMs: 30_000,
      description: 'the member to join',
    });

    expect(await json(post(replay, { topic, minutesAgo: 5, dryRun: false }))).toMatchObject({
      status: 409,
      body: {
        error: {
          code: 'CONFLICT',
          message: `consumer group ${groupId} has 1 live member(s); stop them first (their next commit would overwrite the replay's offsets)`,
        },
      },
    });
    err.length = 0;
    expect(await cli('--group', groupId, '--topic', topic, '--minutes-ago', '5', '--apply')).toBe(EXIT.refused);
    expect(err.join('')).toBe(
      `refused: consumer group ${groupId} has 1 live member(s); stop them first (their next commit would overwrite the replay's offsets)\n`,
    );
  });

  it('replays a group from the earliest retained record over HTTP and from the CLI, and refuses fromEarliest with a time', async () => {
    const { topic, groupId } = await topicWithGroup(10);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] }); // retention: the log now starts at 2
    const url = await start({ LAG_GROUPS: `${groupId}:${topic}` });
    const replay = `${url}/groups/${groupId}/replay`;

    expect(await json(post(replay, { topic, fromEarliest: true }))).toMatchObject({
      status: 200,
      body: { dryRun: true, plan: { fromEarliest: true, totalReRead: 8, partitions: [{ partition: 0, from: 10, to: 2, reRead: 8 }] } },
    });
    for (const time of [{ minutesAgo: 5 }, { timestamp: new Date(Date.now() - MINUTE).toISOString() }]) {
      expect(await json(post(replay, { topic, fromEarliest: true, ...time }))).toMatchObject({
        status: 400,
        body: { error: { code: 'REQUEST.INVALID', message: 'fromEarliest: give fromEarliest, timestamp or minutesAgo, only one' } },
      });
    }

    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    const cli = (...args: string[]) => runReplayCommand(args, () => new ReplayService(suite.resources.kafka), io);
    expect(await cli('--group', groupId, '--topic', topic, '--from-earliest', '--minutes-ago', '5')).toBe(EXIT.usage);
    expect(err.join('')).toBe('--from-earliest: give --from-earliest, --timestamp or --minutes-ago, only one\n');
    expect(await cli('--group', groupId, '--topic', topic, '--from-earliest', '--apply')).toBe(EXIT.ok);
    expect(out.join('')).toContain(`Replay of consumer group ${groupId} on ${topic} from the earliest retained record`);
    expect(out.join('')).toMatch(/^ +0 +10 +2 +8$/m); // partition, from, to, re-read
    expect(await committed(groupId, topic)).toBe(2);
  });

  it('answers operators only: /lag needs ops:read, a replay (even a dry run) ops:write; no token, a garbage or a user token is a 401', async () => {
    const { topic, groupId } = await topicWithGroup(10);
    const url = await start({ LAG_GROUPS: `${groupId}:${topic}` });
    const tokens = await ops;
    const dryRun = JSON.stringify({ topic, minutesAgo: 5 });

    expect(await tokens.refusals(`${url}/lag`, 'ops:read')).toEqual([401, 401, 401, 403]);
    expect(await tokens.refusals(`${url}/lag/${groupId}`, 'ops:read')).toEqual([401, 401, 401, 403]);
    expect(await tokens.refusals(`${url}/groups/${groupId}/replay`, 'ops:write', 'POST', dryRun)).toEqual([401, 401, 401, 403]);
    await waitFor(async () => (await globalThis.fetch(`${url}/lag`, { headers: await tokens.headers('ops:read') })).status === 200, {
      description: 'the lag answered to an ops:read token',
    });
    const replay = await globalThis.fetch(`${url}/groups/${groupId}/replay`, {
      method: 'POST',
      headers: await tokens.headers('ops:write'),
      body: dryRun,
    });
    expect(replay.status).toBe(200);
  });

  it('rejects a bad replay request with 400 naming the field, and an unknown topic or group with 404', async () => {
    const { topic, groupId } = await topicWithGroup(10);
    const url = await start({ LAG_GROUPS: `${groupId}:${topic}` });
    const replay = `${url}/groups/${groupId}/replay`;
    const rejected = async (body: unknown, status = 400) => {
      const response = await json(post(replay, body));
      expect(response.status).toBe(status);
      return String((response.body['error'] as { message?: unknown } | undefined)?.message);
    };

    expect(await rejected({ topic, minutes_ago: 5 })).toBe(
      'minutes_ago: unknown field (expected topic, timestamp, minutesAgo, fromEarliest, dryRun)',
    );
    expect(await rejected({ topic })).toBe('timestamp: give timestamp (ISO 8601 or epoch milliseconds), minutesAgo or fromEarliest');
    expect(await rejected({ topic, timestamp: 1_700_000_000 })).toMatch(/^timestamp: expected epoch milliseconds/);
    expect(await rejected({ topic, minutesAgo: 5, dryRun: 'no' })).toBe('dryRun: expected true or false');
    expect(await rejected({ minutesAgo: 5 })).toBe('topic: expected a topic name');
    expect(await rejected({ topic: uniqueName('missing'), minutesAgo: 5 }, 404)).toMatch(/^topic .* does not exist$/);
    expect(await json(post(`${url}/groups/nobody/replay`, { topic, minutesAgo: 5 }))).toMatchObject({
      status: 404,
      body: {
        error: {
          code: 'NOT_FOUND',
          message: `consumer group nobody has no committed offset on ${topic}: nothing to replay (is the group id right?)`,
        },
      },
    });

    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t) };
    const neverCreated = () => {
      throw new Error('no service for bad arguments');
    };
    expect(await runReplayCommand(['--group', groupId, '--topic', topic], neverCreated, io)).toBe(EXIT.usage);
    expect(await runReplayCommand(['--group', groupId, '--topic', topic, '--minutes-ago', 'ten'], neverCreated, io)).toBe(EXIT.usage);
    expect(await runReplayCommand(['--topic', topic, '--minutes-ago', '5'], neverCreated, io)).toBe(EXIT.usage);
    expect(err[0]).toBe('--timestamp: give --timestamp (ISO 8601 or epoch milliseconds), --minutes-ago or --from-earliest\n');
    expect(await committed(groupId, topic)).toBe(10);
  });
});
