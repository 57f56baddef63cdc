export interface GroupCommitOptions {
  /** Most items one call of `run` takes. */
  maxGroup: number;
  /** Most calls of `run` at once; while they are all busy, new items gather into the next group. */
  maxInFlight: number;
  /**
   * Whether a failed group is retried item by item, so one bad item fails
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
 * nothing is acknowledged before it is written. Idle, a group leaves on the
 * next turn of the event loop (no added wait); busy, groups grow with the
 * load, which is what keeps the number of round trips and commits down.
 */
export class GroupCommit<I, O> {
  private pending: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `run` answers one result per item, in order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: GroupCommitOptions,
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
      const group = this.pending.splice(0, this.options.maxGroup);
      this.inFlight += 1;
      void this.settle(group).finally(() => {
        this.inFlight -= 1;
        if (this.pending.length > 0) this.schedule();
      });
    }
  }

  private async settle(group: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.run(group.map((p) => p.item));
      if (results.length !== group.length) throw new Error(`group of ${group.length} answered ${results.length} results`);
      for (const [i, p] of group.entries()) p.resolve(results[i]!);
    } catch (err) {
      if (group.length > 1 && this.options.splitOnError?.(err)) {
        await Promise.all(group.map((p) => this.settle([p])));
      } else {
        for (const p of group) p.reject(err);
      }
    }
  }
}
