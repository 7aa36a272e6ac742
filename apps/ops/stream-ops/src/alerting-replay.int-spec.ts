import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { exportJWK } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaConsumer, KafkaPublisher } from '@qls/kafka';
import { AlertNotifier, type AlerterRewindPlan, AlerterRunner, type NotifyOutcome } from '@qls/metrics-alerting';
import { OutboxRelay, stats } from '@qls/outbox';
import { migrate, readMigrations } from '@qls/provisioning';
import { SqsPublisher, queueUrlOf } from '@qls/sqs';
import { ReplayService } from '@qls/stream-replay';
import { TestResources, startBuiltApi, uniqueName, waitFor } from '@qls/testing';
import { checkpointedRecords, committedAlerts, produceScenario, scenario, scenarioOptions } from '@qls/metrics-alerting/testing';
import { stateRewinders } from './rewinders';

/**
 * The chapter's "Replay Scenario" for the alerting group, end to end: the
 * alerter's alerts become notifications through the real notification API
 * (its built app, its own process); the group is reset 10 minutes back through
 * the replay service with the alerting group's state rewinder; the
 * alerts are evaluated again and published again, and nobody is paged twice.
 */
describe('replaying the alerting group 10 minutes back', () => {
  const resources = new TestResources();
  const kafka = new Kafka({ clientId: uniqueName('replay-test'), brokers: resources.env.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const stops: (() => Promise<unknown>)[] = [];
  let api: ChildProcess | undefined;
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    api?.kill();
    await resources.cleanup();
  });

  it('re-evaluates the alerts from a savepoint and sends no notification twice', async () => {
    const { pool, schema } = await resources.postgres();
    await migrate(pool, readMigrations(join(__dirname, '../../../../infra/migrations')));
    const [topic, alertsTopic, sideTopic] = await Promise.all([
      resources.topic('replay-in', 2),
      resources.topic('replay-alerts'),
      resources.topic('replay-side'),
    ]);
    const { url: queueUrl } = await resources.queue('replay-notifications');
    const groupId = uniqueName('alerting');

    // The notification API, trusting the notifier's key.
    const notificationApi = await startBuiltApi('notification-api', {
      databaseUrl: resources.env.DATABASE_URL,
      schema,
      issuer: 'alerter',
      audience: 'notifications',
      env: {
        RATE_LIMIT_PER_SECOND: '10000',
        RATE_LIMIT_BURST: '10000',
        NOTIFICATIONS_QUEUE: queueUrl.slice(queueUrl.lastIndexOf('/') + 1),
      },
    });
    api = notificationApi.process;
    const { url: apiUrl, keys } = notificationApi;

    // 15 minutes of points, event time (and Kafka timestamp) up to now.
    const start = Math.floor((Date.now() - 15 * 60_000) / 10_000) * 10_000;
    const events = scenario({ seed: 5, partitions: 2, services: 6, seconds: 14 * 60, start, pointsPerSecond: 1, flushAfterSeconds: 120 });
    const total = events.flat().length;
    await produceScenario(kafka, topic, events.flat());

    const publisher = new KafkaPublisher(kafka);
    stops.push(() => publisher.close());
    const relay = new OutboxRelay({
      pool,
      publishers: { kafka: publisher, sqs: new SqsPublisher(resources.sqs) },
      sqsQueueUrl: (name) => queueUrlOf(resources.sqs, name),
      pollIntervalMs: 200,
    });
    await relay.start();
    stops.push(() => relay.stop());

    const outcomes: NotifyOutcome[] = [];
    const notifier = new AlertNotifier({
      notificationApiUrl: apiUrl,
      recipientUserId: 'on-call',
      channel: 'push',
      signingKey: JSON.stringify({ ...(await exportJWK(keys.privateKey)), alg: 'ES256' }),
      issuer: 'alerter',
      audience: 'notifications',
    });
    const notifierConsumer = new KafkaConsumer(kafka, {
      groupId: uniqueName('alert-notifier'),
      topics: [alertsTopic],
      deadLetterTopic: sideTopic,
      deadLetterPublisher: publisher,
      fromBeginning: true,
    });
    await notifierConsumer.start(async (message) => {
      outcomes.push(await notifier.handle(message));
    });
    stops.push(() => notifierConsumer.stop());

    const startAlerter = async () => {
      const runner = new AlerterRunner({
        kafka,
        pool,
        groupId,
        topic,
        alertsTopic,
        lateTopic: sideTopic,
        deadLetterTopic: sideTopic,
        alerter: scenarioOptions,
        publisher,
        checkpointIntervalMs: 50,
        savepointIntervalMs: 60_000,
        fromBeginning: true,
        sessionTimeoutMs: 6_000,
      });
      await runner.start();
      return runner;
    };
    const notifications = async () =>
      (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE user_id = 'on-call'`)).rows[0]?.n;
    const pagingAlerts = (committed: Map<string, number>) => [...committed.keys()].filter((id) => !id.endsWith(':pending'));
    const allDelivered = async (expected: number) => {
      await waitFor(async () => (await stats(pool)).pending === 0 && outcomes.filter((o) => o !== 'ignored').length === expected, {
        timeoutMs: 60_000,
        description: `${expected} alert records published and handled by the notifier`,
      });
    };

    // First pass.
    const first = await startAlerter();
    let firstStopped = false;
    stops.push(() => (firstStopped ? Promise.resolve() : first.stop()));
    await waitFor(async () => (await checkpointedRecords(pool, groupId)) === total, {
      timeoutMs: 60_000,
      description: 'first pass checkpointed',
    });
    const firstAlerts = await committedAlerts(pool, alertsTopic);
    const paging = pagingAlerts(firstAlerts);
    expect(paging.length).toBeGreaterThan(5);
    await allDelivered(paging.length);
    expect(await notifications()).toBe(paging.length);

    // Dry run through the replay service with the alerting group's rewinder, then a refusal while the alerter is live.
    const state = stateRewinders({ DATABASE_URL: notificationApi.databaseUrl, ALERTING_GROUP_ID: groupId });
    stops.push(() => state.close());
    const replay = new ReplayService(kafka, { rewinders: state.rewinders });
    stops.push(() => replay.close());
    const plan = await replay.plan(groupId, topic, Date.now() - 10 * 60_000);
    const rewind = (plan.state as { plan: AlerterRewindPlan }).plan;
    for (const partition of rewind.partitions) {
      expect(partition.targetOffset).toBeGreaterThan(0);
      expect(partition.savepoint?.source).toBe('savepoint');
      expect(partition.savepoint?.nextOffset).toBeLessThanOrEqual(partition.targetOffset);
    }
    await expect(replay.apply(plan)).rejects.toThrow(/live member/);

    await first.stop();
    firstStopped = true;
    const result = await replay.apply(plan);
    const restart = result.applied.reduce((sum, p) => sum + p.offset, 0);
    expect(restart).toBe(rewind.partitions.reduce((sum, p) => sum + (p.savepoint?.nextOffset ?? 0), 0));
    expect(await checkpointedRecords(pool, groupId)).toBe(restart);

    // Second pass from the savepoints: the same alerts again, nobody paged twice.
    const second = await startAlerter();
    stops.push(() => second.stop());
    await waitFor(async () => (await checkpointedRecords(pool, groupId)) === total, {
      timeoutMs: 60_000,
      description: 'replay checkpointed',
    });
    const afterReplay = await committedAlerts(pool, alertsTopic);
    const replayed = [...afterReplay.values()].reduce((sum, n) => sum + n, 0) - firstAlerts.size;
    expect(replayed).toBeGreaterThan(0);
    expect([...afterReplay.keys()].sort()).toEqual([...firstAlerts.keys()].sort()); // same fingerprints and transitions
    const replayedPaging = pagingAlerts(afterReplay).reduce((sum, id) => sum + (afterReplay.get(id) ?? 0), 0);
    await allDelivered(replayedPaging);
    expect(outcomes.filter((o) => o === 'already_notified').length).toBe(replayedPaging - paging.length);
    expect(await notifications()).toBe(paging.length);
  }, 240_000);
});
