import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type Message, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { MetricsRegistry } from '@qls/observability';
import { migrate, readMigrations, readTopology } from '@qls/provisioning';
import { SqsConsumer, SqsPublisher, queueDepth } from '@qls/sqs';
import { TestResources, waitFor } from '@qls/testing';
import {
  type Channel,
  LocalProvider,
  NotificationHandler,
  NotificationReconciler,
  type NotificationWorkerMetrics,
  SendGuard,
  channels,
  createNotificationWorkerMetrics,
} from './index';

const migrations = join(__dirname, '../../../../infra/migrations');

/** The queue as provisioning creates it: its RedrivePolicy is part of the contract under test. */
const provisioned = readTopology(join(__dirname, '../../../../infra/provision/topology.json')).queues.find(
  (q) => q.name === 'notifications',
);

/**
 * The notification contract under two faults at once — a worker killed or
 * paused (its own process) while the provider fails — as production hurts:
 * dead-lettering after 3 failed provider attempts and never for a crash or a
 * lease wait, a status that settles to the truth, redundant provider calls counted.
 */
describe('notifications under composed faults (real ElasticMQ, Postgres, Redis, worker processes)', () => {
  let resources: TestResources;
  let pool: Pool;
  let schema: string;
  let queue: { url: string; dlqUrl: string };
  let providers: Map<Channel, LocalProvider>;
  let consumers: SqsConsumer[];
  let children: ChildProcess[];

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    const { url, dlqUrl } = await resources.queue('notifications', {
      visibilityTimeoutSeconds: 3,
      maxReceiveCount: provisioned?.deadLetter?.maxReceiveCount ?? 0,
    });
    queue = { url, dlqUrl: dlqUrl ?? '' };
    providers = new Map(channels.map((channel) => [channel, new LocalProvider(channel, pool)]));
    consumers = [];
    children = [];
  });

  afterEach(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(consumers.map((c) => c.stop()));
    await resources.cleanup();
  });

  function provider(channel: Channel): LocalProvider {
    const found = providers.get(channel);
    if (!found) throw new Error(`no provider for ${channel}`);
    return found;
  }

  /** A worker in this process: guard + handler + consumer + reconciler, as apps/notifications/worker wires them. */
  function startWorker(options: { leaseMs: number; metrics?: NotificationWorkerMetrics }): void {
    const guard = new SendGuard(pool, resources.redis(), { leaseMs: options.leaseMs });
    const handler = new NotificationHandler(guard, providers, { maxAttempts: 3, ...(options.metrics ? { metrics: options.metrics } : {}) });
    const consumer = new SqsConsumer(resources.sqs, {
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      concurrency: 10,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 3,
      retry: { initialMs: 1_000, maxMs: 1_000 },
      maxReceiveCount: provisioned?.deadLetter?.maxReceiveCount ?? 0,
      onDeadLettered: handler.deadLettered,
    });
    consumers.push(consumer);
    void consumer.start(handler.handle);
    // Graces scaled to this test's 3 s visibility timeout and 1 s backoff.
    const reconciler = new NotificationReconciler(pool, resources.sqs, {
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      sendingGraceMs: 6_000,
      failedGraceMs: 6_000,
      intervalMs: 500,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    reconciler.start();
    resources.onCleanup(() => reconciler.stop());
  }

  /** A worker in its own process, which the test can SIGKILL or SIGSTOP at a provider call it reports. */
  function spawnWorker(options: { latencyMs: number; leaseMs: number; hangAfterAccept?: boolean }) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'testing/worker.process.ts'),
        JSON.stringify({
          databaseUrl: resources.env.DATABASE_URL,
          schema,
          redisUrl: resources.env.REDIS_URL,
          sqsEndpoint: resources.env.SQS_ENDPOINT,
          region: resources.env.AWS_REGION,
          queueUrl: queue.url,
          dlqUrl: queue.dlqUrl,
          concurrency: 1,
          ...options,
        }),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    children.push(child);
    const events: string[] = [];
    child.on('message', (m: { event: string; notificationId: string }) => events.push(`${m.event} ${m.notificationId}`));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    return {
      child,
      exited,
      reported: (event: 'calling' | 'accepted', id: string) =>
        waitFor(() => events.includes(`${event} ${id}`), { timeoutMs: 30_000, description: `the worker process: ${event} ${id}` }),
    };
  }

  /** A row as the API writes it; its message too unless `publish` is false. */
  async function request(channel: Channel, publish = true): Promise<string> {
    const id = randomUUID();
    await pool.query(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, 'user-1', $2, $3, 'welcome', '{}')`,
      [id, id, channel],
    );
    if (publish) await new SqsPublisher(resources.sqs).publish(queue.url, [{ body: body(id, channel) }]);
    return id;
  }

  const body = (id: string, channel: Channel) =>
    JSON.stringify({ schemaVersion: 1, notificationId: id, userId: 'user-1', channel, template: 'welcome', data: {} });

  async function row(id: string): Promise<{ status: string; last_error: string | null }> {
    return (await pool.query('SELECT status, last_error FROM notifications WHERE id = $1', [id])).rows[0];
  }

  async function deliveries(id: string): Promise<{ calls: number; delivered: number }> {
    return (
      await pool.query(
        'SELECT count(*)::int AS calls, count(*) FILTER (WHERE NOT duplicate)::int AS delivered FROM provider_sends WHERE notification_id = $1',
        [id],
      )
    ).rows[0];
  }

  async function depth(url: string): Promise<number> {
    const { visible, inFlight, delayed } = await queueDepth(resources.sqs, url);
    return visible + inFlight + delayed;
  }

  async function deadLetters(): Promise<Message[]> {
    const { Messages = [] } = await resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages;
  }

  /** `name{labels} value` of one series, 0 when absent. */
  async function counter(registry: MetricsRegistry, name: string, labels: Record<string, string>): Promise<number> {
    const text = await registry.scrape();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  it('does not dead-letter a notification whose worker died after receiving it, whose redelivery found it busy and whose provider then failed once: it is sent', async () => {
    const id = await request('email');
    const crashed = spawnWorker({ latencyMs: 60_000, leaseMs: 6_000 });
    await crashed.reported('calling', id);
    crashed.child.kill('SIGKILL');
    expect(await crashed.exited).toBe('SIGKILL');

    provider('email').faults = { failFirstSendOf: 1 };
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    startWorker({ leaseMs: 6_000, metrics: createNotificationWorkerMetrics(registry) });

    await waitFor(async () => ['sent', 'dead_lettered'].includes((await row(id)).status) && (await depth(queue.url)) === 0, {
      timeoutMs: 60_000,
      description: async () => `the notification settled (it is ${(await row(id)).status})`,
    });
    // The three faults happened: a crash (above), a lease wait and one transient provider failure.
    expect(await counter(registry, 'notification_duplicates_suppressed_total', { reason: 'busy' })).toBeGreaterThanOrEqual(1);
    expect(await counter(registry, 'notification_sends_total', { outcome: 'transient_failure' })).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'sent' });
    expect(await deliveries(id)).toEqual({ calls: 1, delivered: 1 });
    expect(await depth(queue.dlqUrl)).toBe(0);
  }, 90_000);

  it('dead-letters a notification after 3 failed provider attempts across workers and receives, after a crash and a lease wait, with the reason', async () => {
    const id = await request('sms');
    const crashed = spawnWorker({ latencyMs: 60_000, leaseMs: 5_000 });
    await crashed.reported('calling', id);
    crashed.child.kill('SIGKILL');
    expect(await crashed.exited).toBe('SIGKILL');

    provider('sms').faults = { transientRate: 1 };
    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    const metrics = createNotificationWorkerMetrics(registry);
    startWorker({ leaseMs: 5_000, metrics });
    startWorker({ leaseMs: 5_000, metrics });

    const dead = await waitFor(async () => (await depth(queue.url)) === 0 && (await deadLetters())[0], {
      timeoutMs: 60_000,
      description: 'the message in the DLQ',
    });
    expect(dead.MessageAttributes?.['x-error-code']?.StringValue).toBe('PROVIDER.UNAVAILABLE');
    expect(dead.MessageAttributes?.['x-error-reason']?.StringValue).toMatch(/3 of 3 provider attempts failed/);
    expect(await counter(registry, 'notification_sends_total', { outcome: 'transient_failure' })).toBe(3);
    expect(await row(id)).toEqual({ status: 'dead_lettered', last_error: expect.stringMatching(/^PROVIDER\.UNAVAILABLE: 3 of 3/) });
    expect(await deliveries(id)).toEqual({ calls: 0, delivered: 0 });
  }, 90_000);

  it('records sent when a worker paused past its lease has its send accepted after another worker dead-lettered the notification', async () => {
    const id = await request('push');
    const paused = spawnWorker({ latencyMs: 2_000, leaseMs: 3_000 });
    await paused.reported('calling', id);
    paused.child.kill('SIGSTOP');

    provider('push').faults = { transientRate: 1 };
    startWorker({ leaseMs: 3_000 });
    await waitFor(async () => (await row(id)).status === 'dead_lettered' && (await depth(queue.dlqUrl)) === 1, {
      timeoutMs: 60_000,
      description: 'the other worker dead-lettering it',
    });

    paused.child.kill('SIGCONT');
    await paused.reported('accepted', id);
    await waitFor(async () => (await row(id)).status === 'sent', {
      timeoutMs: 10_000,
      description: async () => `the accepted send recorded (status is ${(await row(id)).status})`,
    });
    expect(await deliveries(id)).toEqual({ calls: 1, delivered: 1 });
  }, 90_000);

  it('settles a sending row whose lease expired and whose message is gone: it is sent', async () => {
    const id = await request('email', false);
    // A worker claimed it and died; its message was lost (deleted by a stale worker, or expired).
    const claim = await new SendGuard(pool, resources.redis(), { leaseMs: 1_000 }).claim(id);
    expect(claim.kind).toBe('lease');
    startWorker({ leaseMs: 1_000 });
    await waitFor(async () => (await row(id)).status === 'sent', {
      timeoutMs: 30_000,
      description: async () => `the stale row settled (status is ${(await row(id)).status})`,
    });
    expect(await deliveries(id)).toEqual({ calls: 1, delivered: 1 });
  }, 60_000);

  it('settles a row whose message the queue moved to the DLQ by its receive limit as dead_lettered with a reason, without sending it', async () => {
    const id = await request('email', false);
    const claim = await new SendGuard(pool, resources.redis(), { leaseMs: 1_000 }).claim(id);
    expect(claim.kind).toBe('lease');
    // What SQS's RedrivePolicy leaves: the message in the DLQ without a reason.
    await resources.sqs.send(new SendMessageCommand({ QueueUrl: queue.dlqUrl, MessageBody: body(id, 'email') }));
    startWorker({ leaseMs: 1_000 });
    await waitFor(async () => (await row(id)).status === 'dead_lettered', {
      timeoutMs: 30_000,
      description: async () => `the row settled as dead_lettered (status is ${(await row(id)).status})`,
    });
    expect((await row(id)).last_error).toMatch(/^SQS\.MAX_RECEIVES: /);
    expect(await deliveries(id)).toEqual({ calls: 0, delivered: 0 });
  }, 60_000);

  it('counts the provider call of a redelivery after a worker was killed between the accepted send and recording it', async () => {
    const id = await request('email');
    const killed = spawnWorker({ latencyMs: 0, leaseMs: 2_000, hangAfterAccept: true });
    await killed.reported('accepted', id);
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBe('SIGKILL');

    const registry = new MetricsRegistry({ service: 'test', defaultMetrics: false });
    startWorker({ leaseMs: 2_000, metrics: createNotificationWorkerMetrics(registry) });
    await waitFor(async () => (await row(id)).status === 'sent', { timeoutMs: 30_000, description: 'the redelivery recorded sent' });
    expect(await deliveries(id)).toEqual({ calls: 2, delivered: 1 });
    expect(await counter(registry, 'notification_redundant_provider_calls_total', { reason: 'replayed' })).toBe(1);
  }, 60_000);
});
