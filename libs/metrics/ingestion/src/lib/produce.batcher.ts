import { type MessagePublisher, type OutboundMessage, PermanentError } from '@qls/messaging';

export interface ProduceBatcherOptions {
  /** Publishes one batch and resolves when the broker acknowledged all of it (KafkaPublisher: idempotent, acks=all). */
  readonly publisher: MessagePublisher;
  readonly topic: string;
  /**
   * How long the first record of a batch waits for others before the batch is
   * sent (Kafka's `linger.ms`, done here because kafkajs has none).
   * @defaultValue 5
   */
  readonly lingerMs?: number;
  /**
   * A batch is sent without waiting for the linger once it holds this many
   * records or bytes (record values). One caller's records are never split,
   * so a batch may exceed them by one caller's share.
   * @defaultValue 10_000 records, 1 MiB
   */
  readonly maxBatchRecords?: number;
  readonly maxBatchBytes?: number;
  /**
   * Batches being sent at once; while all are busy, new records gather into
   * the next batch (which is how batches grow under load).
   * @defaultValue 4
   */
  readonly maxInFlight?: number;
  /** Called after every send with its record count, duration and error, for metrics. */
  readonly onBatch?: (records: number, seconds: number, error: unknown) => void;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

interface PendingBatch {
  readonly messages: OutboundMessage[];
  readonly waiters: Waiter[];
  bytes: number;
}

/**
 * Groups the records of many concurrent callers into one produce request, so
 * that producing costs a round trip per batch, not per request or per point.
 * Each caller's `send` resolves when the batch holding its records was
 * acknowledged, and rejects (with the publisher's error) when that batch failed —
 * then none, some or all of its records may have been written, as with any
 * failed publish: callers retry, consumers are idempotent.
 *
 * Order: one caller's records travel in one batch, in the order given (the
 * producer keeps per-partition order within a request). Records of separate
 * calls have no order between them, as concurrent HTTP requests have none.
 */
export class ProduceBatcher {
  private readonly lingerMs: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;
  private pending: PendingBatch = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();
  private closed = false;
  /** A flush found every send slot busy: the next finished send sends the pending batch. */
  private blocked = false;

  constructor(private readonly options: ProduceBatcherOptions) {
    this.lingerMs = options.lingerMs ?? 5;
    this.maxBatchRecords = options.maxBatchRecords ?? 10_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  /** Records waiting for a batch to be sent, and batches being sent now. */
  get stats(): { readonly pendingRecords: number; readonly inFlight: number } {
    return { pendingRecords: this.pending.messages.length, inFlight: this.inFlight };
  }

  /** Queues `messages` for the next batch; resolves once that batch was acknowledged. */
  send(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new PermanentError('INGEST.CLOSED', 'the producer is shutting down'));
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const batch = this.pending;
      for (const message of messages) {
        batch.messages.push(message);
        batch.bytes += message.body.length;
      }
      batch.waiters.push({ resolve, reject });
      if (batch.messages.length >= this.maxBatchRecords || batch.bytes >= this.maxBatchBytes) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  /** Sends what is pending, waits for every batch in flight, and refuses further records. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.messages.length > 0 || this.sending.size > 0) {
      this.flush();
      await Promise.all(this.sending);
    }
  }

  /** Sends the pending batch now, unless every send slot is busy (then the next finished send picks it up). */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.messages.length === 0) return;
    if (this.inFlight >= this.maxInFlight) {
      this.blocked = true;
      return;
    }
    this.blocked = false;
    const batch = this.pending;
    this.pending = emptyBatch();
    this.inFlight++;
    const started = performance.now();
    const sent = this.options.publisher.publish(this.options.topic, batch.messages).then(
      () => {
        this.options.onBatch?.(batch.messages.length, (performance.now() - started) / 1000, undefined);
        for (const waiter of batch.waiters) waiter.resolve();
      },
      (error: unknown) => {
        this.options.onBatch?.(batch.messages.length, (performance.now() - started) / 1000, error);
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
    const tracked: Promise<void> = sent.finally(() => {
      this.inFlight--;
      this.sending.delete(tracked);
      // What gathered while every slot was busy has waited long enough.
      if (this.blocked) this.flush();
    });
    this.sending.add(tracked);
  }
}

function emptyBatch(): PendingBatch {
  return { messages: [], waiters: [], bytes: 0 };
}
