// The confirmation a mass send over FANOUT_CONFIRM_THRESHOLD recipients must carry: a mistaken audience is caught
// before anything is written. Checked by createBulk and createTopicNotification after their replay lookup, so a
// retry of a send that was accepted answers its first response even if the audience has changed since.
import { AppError } from '../platform/errors.js';
import type { Queryable } from '../platform/db.js';

/** FANOUT_CONFIRM_THRESHOLD's default: a send to more recipients needs `confirm_recipients`. */
export const DEFAULT_CONFIRM_THRESHOLD = 10_000;

/** What a mass send's body says about its audience, and the threshold it is held to. */
export interface AudienceConfirmation {
  confirm_recipients?: number | undefined;
  threshold: number;
}

/** How many recipients a topic send would reach now (its dry run's `recipients`). */
export async function topicRecipientCount(db: Queryable, appId: string, topic: string): Promise<number> {
  // One index-only count on the subscriptions' primary key, paid by topic sends only (never by single sends).
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2', [appId, topic]);
  return rows[0]?.n ?? 0;
}

/**
 * Refuses (422) a send over the threshold unless `confirm_recipients` is the
 * number of recipients it reaches, and any send whose `confirm_recipients` is
 * not that number, whatever its size.
 */
export function confirmRecipients(recipients: number, { confirm_recipients: confirm, threshold }: AudienceConfirmation): void {
  if (confirm !== undefined && confirm !== recipients) {
    throw new AppError('validation_failed', `confirm_recipients is ${confirm} but this send reaches ${recipients} recipients; check the audience with a dry run`, [
      { path: 'confirm_recipients', message: `must be ${recipients}, the number of recipients` },
    ]);
  }
  if (confirm === undefined && recipients > threshold) {
    throw new AppError(
      'validation_failed',
      `This send reaches ${recipients} recipients, more than the ${threshold} that need a confirmation: send it again with "confirm_recipients": ${recipients} (a dry run tells the count)`,
      [{ path: 'confirm_recipients', message: `required over ${threshold} recipients` }],
    );
  }
}
