const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
/** How long an id the database did not know is answered 401 without asking again. */
export const UNKNOWN_KEY_TTL_MS = 15_000;
/** Unknown ids remembered at most; past it the oldest go (a flood of random credentials cannot grow memory). */
export const MAX_UNKNOWN_KEYS = 10_000;

/**
 * What a replica knows of one kind of credential, by id (a key's hash, a
 * token's key id): known ones for a minute, unknown ones for 15 s (random
 * guesses then cost nothing after their first try), and the lookups under
 * way, so concurrent requests with one credential share one lookup.
 */
export class CredentialCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly unknown = new Map<string, number>();
  private readonly loading = new Map<string, Promise<V | null>>();

  /** The value without asking the database; null when recently unknown, undefined when only the database can tell. */
  known(id: string): V | null | undefined {
    const hit = this.entries.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    const unknownUntil = this.unknown.get(id);
    if (unknownUntil !== undefined) {
      if (unknownUntil > Date.now()) return null;
      this.unknown.delete(id);
    }
    return undefined;
  }

  /**
   * Runs `attempt` (count the try, ask the database) once for all concurrent
   * callers with this id: registered before its first await, so a burst of
   * one credential is one attempt whatever the timing.
   */
  verify(id: string, attempt: () => Promise<V | null>): Promise<V | null> {
    let pending = this.loading.get(id);
    if (!pending) {
      pending = attempt().finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** Asks `lookup`, and remembers the answer either way. */
  async load(id: string, lookup: () => Promise<V | null>): Promise<V | null> {
    const found = await lookup();
    if (found) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(id, { value: found, expires: Date.now() + TTL_MS });
      this.unknown.delete(id);
    } else {
      this.entries.delete(id);
      // Same TTL for all, so insertion order is expiry order: the first entry is the one to drop.
      if (this.unknown.size >= MAX_UNKNOWN_KEYS) this.unknown.delete(this.unknown.keys().next().value!);
      this.unknown.set(id, Date.now() + UNKNOWN_KEY_TTL_MS);
    }
    return found;
  }

  forget(id: string): void {
    this.entries.delete(id);
    this.unknown.delete(id);
  }

  /** Drops the known values that `match` (rare events: a scan is fine). */
  forgetWhere(match: (value: V) => boolean): void {
    for (const [id, entry] of this.entries) if (match(entry.value)) this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
    this.unknown.clear();
  }

  get unknownCount(): number {
    return this.unknown.size;
  }
}
