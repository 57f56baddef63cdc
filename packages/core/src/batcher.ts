export interface BatcherOptions {
  /** Most items one call of `run` takes. */
  maxBatch: number;
  /** Most calls of `run` at once; while they are all busy, new items gather into the next batch. */
  maxInFlight: number;
  /**
   * Whether a failed batch is retried item by item, so one bad item fails
   * only its own caller. Not for failures every item shares (the database is
   * down): those reach every caller at once.
   */
  splitOnError?: (err: unknown) => boolean;
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: concurrent callers' items are coalesced into one call of
 * `run`, and each caller is answered only when that call has finished, so
 * nothing is acknowledged before it is written. Idle, a batch leaves on the
 * next turn of the event loop (no added wait); busy, batches grow with the
 * load, which is what keeps the number of round trips and commits down.
 */
export class Batcher<I, O> {
  private pending: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `run` answers one result per item, in order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.settle(batch).finally(() => {
        this.inFlight -= 1;
        if (this.pending.length > 0) this.schedule();
      });
    }
  }

  private async settle(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch of ${batch.length} answered ${results.length} results`);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (batch.length > 1 && this.options.splitOnError?.(err)) {
        await Promise.all(batch.map((p) => this.settle([p])));
      } else {
        for (const p of batch) p.reject(err);
      }
    }
  }
}
