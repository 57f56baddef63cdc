import type { Db } from '../platform/db.js';
import { waitFor } from './wait-for.js';

/** The notification with its deliveries (rows as stored) once it is no longer pending: every delivery has settled. */
export function notificationFinished(db: Db, id: string, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const n = await db.prisma.notification.findUniqueOrThrow({ where: { id }, include: { deliveries: true } });
      return n.status === 'pending' ? undefined : n;
    },
    timeoutMs,
    `notification ${id} to finish`,
  );
}
