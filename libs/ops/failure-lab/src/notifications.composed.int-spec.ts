// drop-system: notifications
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { type Channel, NotificationReconciler, type ProviderFaults, channels } from '@qls/notification-delivery';
import { migrate, readMigrations, readTopology } from '@qls/provisioning';
import { SqsPublisher, queueDepth } from '@qls/sqs';
import { type InvariantReport, TestResources, assertInvariants, describeReports, waitFor } from '@qls/testing';
import { type NotificationDeadLetter, checkNotifications, readNotificationRecords } from './index';

const repo = join(__dirname, '../../../..');
const provisioned = readTopology(join(repo, 'infra/provision/topology.json')).queues.find((q) => q.name === 'notifications');
/** The seed of the providers' failures and of the schedule's choices; FAILURE_LAB_SEED reruns another. */
const SEED = Number(process.env['FAILURE_LAB_SEED'] ?? 20_261_205);
const VISIBILITY_SECONDS = 3;
const LEASE_MS = 3_000;
/** The reconciler's graces below, plus its interval and a receive: the bound a row must settle within. */
const SETTLE_WITHIN_MS = 30_000;
const WORKER_PROCESS = join(repo, 'libs/notifications/delivery/src/testing/worker.process.ts');

let resources: TestResources;
let pool: Pool;
let schema: string;
let queue: { url: string; dlqUrl: string };
let children: ChildProcess[];

/**
 * Notifications through real ElasticMQ, Postgres, Redis and worker processes
 * while faults are composed — a crash mid-send, a crash between the provider's
 * acceptance and its record, a pause past the lease, transient provider
 * failures throughout — and then judged by the failure lab's checker from the
 * system's own records, not by example.
 */
describe('notifications under a composed fault schedule, judged by the invariant checker', () => {
  beforeEach(async () => {
    resources = new TestResources();
    ({ pool, schema } = await resources.postgres());
    await migrate(pool, readMigrations(join(repo, 'infra/migrations')));
    const created = await resources.queue('lab-notifications', {
      visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      maxReceiveCount: provisioned?.deadLetter?.maxReceiveCount ?? 0,
    });
    queue = { url: created.url, dlqUrl: created.dlqUrl ?? '' };
    children = [];
    // Graces scaled to the 3 s visibility timeout, as the delivery contract spec does.
    const graces = { sendingGraceMs: 6_000, failedGraceMs: 6_000, intervalMs: 500 };
    const reconciler = new NotificationReconciler(pool, resources.sqs, {
      queueUrl: queue.url,
      deadLetterQueueUrl: queue.dlqUrl,
      ...graces,
    });
    reconciler.start();
    resources.onCleanup(() => reconciler.stop());
  });

  afterEach(async () => {
    for (const child of children) {
      if (child.signalCode === 'SIGSTOP') child.kill('SIGCONT');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await resources.cleanup();
  });

  it(`keeps every promise through a crash mid-send, a crash after an accepted send, a pause past the lease and 10 % transient provider failures (seed ${SEED})`, async () => {
    const transient = everyChannel({ transientRate: 0.1 });
    const workers = [spawnWorker({ faults: transient, seed: SEED }), spawnWorker({ faults: transient, seed: SEED + 1 })];
    // This one never records a send the provider accepted: killed there, its notification's redelivery calls again.
    const hanging = spawnWorker({ faults: transient, seed: SEED + 2, hangAfterAccept: true });
    const workload = acceptNotifications(480, 40);

    // 1. A worker dies mid-send, while calling the provider; another takes its place.
    await workers[0]?.next('calling');
    workers[0]?.child.kill('SIGKILL');
    workers.push(spawnWorker({ faults: transient, seed: SEED + 10 }));
    // 2. A worker dies between the provider's acceptance and recording it; another takes its place.
    await hanging.reported('accepted');
    hanging.child.kill('SIGKILL');
    workers.push(spawnWorker({ faults: transient, seed: SEED + 20 }));
    // 3. A worker stops right after the provider accepted a send, past its lease and the visibility timeout, then goes on.
    await workers[1]?.next('accepted');
    workers[1]?.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + VISIBILITY_SECONDS * 1_000 + 1_000)); // the fault: a pause of this length
    workers[1]?.child.kill('SIGCONT');

    const acknowledged = await workload;
    const report = await judge(acknowledged);
    assertInvariants(report);
    expect(report.checked).toBe(acknowledged.length);
    expect(report.counts['sent']).toBeGreaterThan(400);
    expect(report.counts['redundant provider calls']).toBeGreaterThanOrEqual(1); // fault 2 happened where it was meant to
    expect((report.counts['sent'] ?? 0) + (report.counts['dead-lettered'] ?? 0)).toBe(acknowledged.length);
  }, 180_000);

  it('catches a worker that dead-letters after one failed provider attempt (a bug injected on purpose), naming each notification', async () => {
    spawnWorker({ faults: everyChannel({ transientRate: 0.5 }), seed: SEED, maxAttempts: 1 });
    const acknowledged = await acceptNotifications(30, 30);
    const report = await judge(acknowledged);

    expect(report.violations.length).toBeGreaterThan(0);
    expect(new Set(report.violations.map((v) => v.invariant))).toEqual(new Set(['wrongly dead-lettered']));
    for (const violation of report.violations) {
      expect(acknowledged).toContain(violation.id);
      expect(violation.detail).toMatch(
        /^1 of 3 provider attempts failed, and PROVIDER\.UNAVAILABLE is not permanent: "PROVIDER\.UNAVAILABLE: /,
      );
    }
    expect(() => assertInvariants(report)).toThrow(new RegExp(`wrongly dead-lettered: ${report.violations.length}\\n`));
  }, 120_000);
});

const everyChannel = (faults: ProviderFaults): Record<Channel, ProviderFaults> =>
  Object.fromEntries(channels.map((channel) => [channel, faults])) as Record<Channel, ProviderFaults>;

/** What notification-api does for an accepted request (the row, then the relay's message), at `perSecond`; the ids it acknowledged. */
async function acceptNotifications(count: number, perSecond: number): Promise<string[]> {
  const publisher = new SqsPublisher(resources.sqs);
  const acknowledged: string[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const channel = channels[i % channels.length] ?? 'push';
    await pool.query(
      `INSERT INTO notifications (id, user_id, idempotency_key, channel, template, data) VALUES ($1, $2, $3, $4, 'welcome', '{}')`,
      [id, `user-${i % 17}`, id, channel],
    );
    acknowledged.push(id);
    const body = { schemaVersion: 1, notificationId: id, userId: `user-${i % 17}`, channel, template: 'welcome', data: {} };
    await publisher.publish(queue.url, [{ body: JSON.stringify(body) }]);
    const due = started + ((i + 1) * 1_000) / perSecond - Date.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due)); // the workload's pace
  }
  return acknowledged;
}

/** Waits until every row is sent or dead-lettered (or the bound passed), then checks the contract over the records. */
async function judge(acknowledged: readonly string[]): Promise<InvariantReport> {
  await waitFor(
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notifications WHERE status NOT IN ('sent', 'dead_lettered')`,
      );
      return rows[0]?.n === 0;
    },
    { timeoutMs: 90_000, intervalMs: 250, description: 'every notification settled' },
  ).catch(() => undefined); // the checker says which did not, and why
  const records = await readNotificationRecords(pool);
  const report = checkNotifications(
    acknowledged.map((id) => ({ id })),
    { ...records, deadLetters: await readDeadLetters() },
    { maxProviderAttempts: 3, settleWithinMs: SETTLE_WITHIN_MS, now: records.now },
  );
  process.stdout.write(`${describeReports([report])}\n`);
  return report;
}

/**
 * Every message of the DLQ (hidden while read: the run is over). Messages the
 * reconciler holds while it scans the DLQ come back after its hold: read until
 * as many as the queue counts have been seen.
 */
async function readDeadLetters(): Promise<NotificationDeadLetter[]> {
  const { visible, inFlight } = await queueDepth(resources.sqs, queue.dlqUrl);
  const seen = new Map<string, NotificationDeadLetter>();
  await waitFor(
    async () => {
      const { Messages = [] } = await resources.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 120,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      for (const message of Messages) {
        const { notificationId = '' } = JSON.parse(message.Body ?? '{}') as { notificationId?: string };
        seen.set(message.MessageId ?? '', { notificationId, reason: message.MessageAttributes?.['x-error-reason']?.StringValue });
      }
      return seen.size >= visible + inFlight;
    },
    { timeoutMs: 60_000, description: () => `the ${visible + inFlight} messages of the DLQ (${seen.size} read)` },
  );
  return [...seen.values()];
}

/** A worker process (libs/notifications/delivery/src/testing/worker.process.ts) that reports its provider calls. */
function spawnWorker(options: { faults: Record<Channel, ProviderFaults>; seed: number; maxAttempts?: number; hangAfterAccept?: boolean }) {
  const { env } = resources;
  const servers = { databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL, sqsEndpoint: env.SQS_ENDPOINT, region: env.AWS_REGION };
  const args = {
    ...servers,
    schema,
    queueUrl: queue.url,
    dlqUrl: queue.dlqUrl,
    concurrency: 4,
    latencyMs: 10,
    leaseMs: LEASE_MS,
    ...options,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS, JSON.stringify(args)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const events: string[] = [];
  child.on('message', (m: { event: string }) => events.push(m.event));
  return {
    child,
    /** Resolves once this worker has reported `event`, at any time. */
    reported: (event: 'calling' | 'accepted') =>
      waitFor(() => events.includes(event), { timeoutMs: 30_000, intervalMs: 5, description: `a worker process reporting ${event}` }),
    /** Resolves at this worker's first report of `event` from now on. */
    next: async (event: 'calling' | 'accepted') => {
      const from = events.length;
      await waitFor(() => events.indexOf(event, from) >= 0, {
        timeoutMs: 30_000,
        intervalMs: 5,
        description: `a worker process reporting ${event}`,
      });
    },
  };
}
