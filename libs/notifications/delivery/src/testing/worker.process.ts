/**
 * A notification worker in its own process, for the crash and pause tests:
 * `node --import tsx worker.process.ts <json>`; the test SIGKILLs or SIGSTOPs it.
 *
 * With an IPC channel it reports `{ event: 'calling' | 'accepted', notificationId }`
 * around each provider call, so a test can kill or pause it at a known point;
 * `hangAfterAccept` keeps it from recording an accepted send (the test kills it there).
 * `faults` (per channel, as `LOCAL_PROVIDER_FAULTS`) with `seed` make the
 * providers fail reproducibly; `maxAttempts` is the handler's N.
 */
import { createHash } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { SqsConsumer } from '@qls/sqs';
import {
  type Channel,
  LocalProvider,
  NotificationHandler,
  type NotificationProvider,
  type ProviderFaults,
  SendGuard,
  type SendRequest,
  channels,
} from '../index';

interface Args {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly redisUrl: string;
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly latencyMs: number;
  readonly leaseMs: number;
  readonly concurrency?: number;
  readonly hangAfterAccept?: boolean;
  readonly faults?: Partial<Record<Channel, ProviderFaults>>;
  readonly seed?: number;
  readonly maxAttempts?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pool = new Pool({ connectionString: args.databaseUrl, options: `-c search_path=${args.schema}`, max: 20 });

/** Reports each call to the parent; optionally never returns from an accepted one. */
class ReportingProvider implements NotificationProvider {
  readonly channel: NotificationProvider['channel'];

  constructor(private readonly inner: LocalProvider) {
    this.channel = inner.channel;
  }

  async send(request: SendRequest): ReturnType<NotificationProvider['send']> {
    process.send?.({ event: 'calling', notificationId: request.notificationId });
    const outcome = await this.inner.send(request);
    process.send?.({ event: 'accepted', notificationId: request.notificationId });
    if (args.hangAfterAccept) await new Promise(() => undefined);
    return outcome;
  }
}

/** With a seed, the same calls fail again: the n-th random number of this process is a hash of (seed, n). */
let draws = 0;
const seeded = (seed: number) => () => createHash('sha256').update(`${seed}:${draws++}`).digest().readUInt32BE(0) / 2 ** 32;
const random = args.seed === undefined ? Math.random : seeded(args.seed);

const providers = new Map(
  channels.map((channel) => [
    channel,
    new ReportingProvider(new LocalProvider(channel, pool, { latencyMs: args.latencyMs, ...args.faults?.[channel] }, random)),
  ]),
);
const handler = new NotificationHandler(
  new SendGuard(pool, new Redis(args.redisUrl), { leaseMs: args.leaseMs }),
  providers,
  args.maxAttempts === undefined ? {} : { maxAttempts: args.maxAttempts },
);
const consumer = new SqsConsumer(new SQSClient({ endpoint: args.sqsEndpoint, region: args.region }), {
  queueUrl: args.queueUrl,
  deadLetterQueueUrl: args.dlqUrl,
  concurrency: args.concurrency ?? 20,
  waitTimeSeconds: 1,
  visibilityTimeoutSeconds: 3,
  maxReceiveCount: 10,
  onDeadLettered: handler.deadLettered,
});
void consumer.start(handler.handle);
