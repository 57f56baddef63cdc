import type { Logger, Pool, Redis } from '@notify/core/platform';
import { loadSendRules, loadSendTarget, takeCapSlot, type SendRules, type SendTarget } from '@notify/core/content';

export interface SendGatesOptions {
  pool: Pool;
  redis: Redis;
  /** The BullMQ prefix: cap counters live under it. */
  prefix: string;
  log: Logger;
  /** How long pauses and caps are cached (default 1 s): a pause or resume takes effect within this. */
  refreshMs?: number;
  /** How far ahead a held delivery is put back (default 5 s): after a resume it goes within this. */
  holdMs?: number;
}

/** What the gates decided before the claim. */
export type Gate = { kind: 'open'; target: SendTarget | null } | { kind: 'hold'; untilMs: number };

/**
 * Pauses and frequency caps, checked when a worker takes a delivery. The
 * rules of every app are cached for a second, so a delivery costs no query
 * while nothing is paused or capped anywhere, and one primary-key read of its
 * notification while something is.
 */
export class SendGates {
  private rules: SendRules | null = null;
  private loadedAt = 0;
  private loading: Promise<SendRules> | null = null;
  private readonly refreshMs: number;
  private readonly holdMs: number;

  constructor(private readonly o: SendGatesOptions) {
    this.refreshMs = o.refreshMs ?? 1000;
    this.holdMs = o.holdMs ?? 5000;
  }

  /** Before the claim: a paused delivery is held (spending no attempt); otherwise its target, when a cap may apply. */
  async before(notificationId: string): Promise<Gate> {
    const rules = await this.current();
    if (rules.empty) return { kind: 'open', target: null };
    const target = await loadSendTarget(this.o.pool, notificationId);
    if (target && rules.paused(target)) return { kind: 'hold', untilMs: Date.now() + this.holdMs };
    return { kind: 'open', target };
  }

  /** After the claim: false when the notification is over its category's cap in this window. */
  async underCap(target: SendTarget | null, notificationId: string): Promise<boolean> {
    if (!target) return true;
    const cap = (await this.current()).cap(target);
    return cap ? takeCapSlot(this.o.redis, this.o.prefix, target, notificationId, cap) : true;
  }

  private async current(): Promise<SendRules> {
    if (this.rules && Date.now() - this.loadedAt < this.refreshMs) return this.rules;
    // One load at a time, shared by every job that finds the cache stale.
    this.loading ??= loadSendRules(this.o.pool)
      .then((rules) => {
        this.rules = rules;
        this.loadedAt = Date.now();
        return rules;
      })
      .catch((err: unknown) => {
        // PostgreSQL briefly away: keep the last rules rather than fail deliveries that may not need them.
        if (this.rules) {
          this.o.log.warn({ err }, 'could not refresh pauses and frequency caps; using the last ones');
          return this.rules;
        }
        throw err;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
