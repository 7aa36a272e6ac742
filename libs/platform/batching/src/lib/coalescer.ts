export interface CoalescerOptions<I, O> {
  /**
   * Does the work for a batch of inputs — one statement, one round trip — and
   * returns one result per input, in the same order. When it throws, every
   * caller in the batch gets that error.
   */
  readonly run: (inputs: readonly I[]) => Promise<readonly O[]>;
  /** Most inputs in one batch. @defaultValue 100 */
  readonly maxBatch?: number;
  /**
   * Batches running at once. While all are busy, new inputs gather into the
   * next batch — which is how batches grow under load without a timer.
   * @defaultValue 1
   */
  readonly maxInFlight?: number;
}

interface Pending<I, O> {
  readonly input: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/**
 * Turns many concurrent calls into few batched ones ("natural batching", as
 * Postgres's group commit or DataLoader do it): inputs submitted in the same
 * turn of the event loop, or while the previous batches are still running,
 * go out together. An idle system pays no linger — a lone call runs at the end
 * of the current turn — and a busy one amortises a round trip, a statement and
 * a commit over many callers. Each caller awaits its own result.
 *
 * The batch runs in the async context of the call that started it, so its
 * spans (if any) land in that caller's trace; capture per-caller context in
 * the input when the batch needs it.
 */
export class Coalescer<I, O> {
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private pending: Pending<I, O>[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly options: CoalescerOptions<I, O>) {
    this.maxBatch = options.maxBatch ?? 100;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /** Inputs waiting for a batch, and batches running now. */
  get stats(): { readonly waiting: number; readonly inFlight: number } {
    return { waiting: this.pending.length, inFlight: this.inFlight };
  }

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Starts batches while there is work and a free slot; what is left waits for a running batch to end. */
  private flush(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async runBatch(batch: readonly Pending<I, O>[]): Promise<void> {
    try {
      const outputs = await this.options.run(batch.map((p) => p.input));
      if (outputs.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} inputs returned ${outputs.length} results`);
      }
      batch.forEach((p, index) => p.resolve(outputs[index] as O));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
