import type { Queue } from 'bullmq';
import type { Channel } from '../platform/channels.js';
import { withTransaction, type Db } from '../platform/db.js';
import { workflowStepJobId, type ChannelQueues, type ScheduleJob, type StatusEventJob, type WorkflowStepJob } from '../platform/queues.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

export interface Erased {
  user_id: string;
  notifications: number;
  deliveries: number;
  inbox_items: number;
  status_events: number;
  workflow_runs: number;
  schedules: number;
  jobs_removed: number;
}

export interface ErasureDeps {
  db: Db;
  queues: ChannelQueues;
  events?: Queue<StatusEventJob> | undefined;
  workflows?: Queue<WorkflowStepJob> | undefined;
  schedules?: Queue<ScheduleJob> | undefined;
}

/**
 * Right to erasure: deletes everything the service holds about a user (their
 * contacts and devices, preferences, topic subscriptions, notifications with
 * their deliveries, attempts and replays, inbox items, idempotency replays,
 * status events, workflow runs with their steps, schedules sending to them
 * alone) in one transaction, then their jobs and job schedulers from Redis. A tombstone
 * keeps later requests for the same id from sending anything until the user
 * is created again with PUT /users/{id}. Its audit record, in the same
 * transaction, holds the user id and the counts: the erasure leaves the
 * audit log as it is (it never holds contacts or content), and the record is
 * what shows the erasure was done.
 */
export async function eraseUser(deps: ErasureDeps, appId: string, userId: string, by?: AuditActor): Promise<Erased> {
  const counts = { notifications: 0, inbox_items: 0 };
  const { deliveries, events, runs, schedules } = await withTransaction(deps.db.pool, async (client) => {
    const deliveries = (
      await client.query<{ id: string; channel: Channel }>(
        'SELECT d.id, d.channel FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.app_id = $1 AND n.user_id = $2',
        [appId, userId],
      )
    ).rows;
    const events = (await client.query<{ id: string }>('DELETE FROM status_events WHERE app_id = $1 AND user_id = $2 RETURNING id', [appId, userId])).rows.map((r) => r.id);
    await client.query('DELETE FROM idempotency_keys WHERE app_id = $1 AND notification_id IN (SELECT id FROM notifications WHERE app_id = $1 AND user_id = $2)', [appId, userId]);
    counts.notifications = (await client.query('DELETE FROM notifications WHERE app_id = $1 AND user_id = $2', [appId, userId])).rowCount ?? 0;
    counts.inbox_items = (await client.query('DELETE FROM inbox_items WHERE app_id = $1 AND user_id = $2', [appId, userId])).rowCount ?? 0;
    // A run's data is the trigger's (and a digest's events): personal data. Its steps cascade.
    const runs = (
      await client.query<{ id: string; status: string; step_index: number; next_at: Date | null }>(
        'DELETE FROM workflow_runs WHERE app_id = $1 AND user_id = $2 RETURNING id, status, step_index, next_at',
        [appId, userId],
      )
    ).rows;
    // A schedule sending to this user alone goes (a notification's or a workflow's); a workflow's
    // list of users loses this one, and goes once empty. A topic's sends to its subscribers.
    await client.query(
      `UPDATE schedules SET target = jsonb_set(target, '{user_ids}', (SELECT coalesce(jsonb_agg(u), '[]') FROM jsonb_array_elements(target->'user_ids') u WHERE u <> to_jsonb($2::text))), updated_at = now()
       WHERE app_id = $1 AND target_kind = 'workflow' AND target->'user_ids' ? $2`,
      [appId, userId],
    );
    const schedules = (
      await client.query<{ id: string }>(
        `DELETE FROM schedules WHERE app_id = $1 AND target_kind IN ('user', 'workflow') AND (target->>'user_id' = $2 OR target->'user_ids' = '[]') RETURNING id`,
        [appId, userId],
      )
    ).rows.map((r) => r.id);
    for (const table of ['preferences', 'topic_subscriptions']) {
      await client.query(`DELETE FROM ${table} WHERE app_id = $1 AND user_id = $2`, [appId, userId]);
    }
    await client.query('DELETE FROM users WHERE app_id = $1 AND id = $2', [appId, userId]);
    await client.query('INSERT INTO erased_users (app_id, user_id) VALUES ($1, $2) ON CONFLICT (app_id, user_id) DO UPDATE SET erased_at = now()', [appId, userId]);
    await recordAudit(client, by, {
      appId,
      action: 'user.erased',
      targetType: 'user',
      targetId: userId,
      summary: {
        notifications: counts.notifications,
        deliveries: deliveries.length,
        inbox_items: counts.inbox_items,
        status_events: events.length,
        workflow_runs: runs.length,
        schedules: schedules.length,
      },
    });
    return { deliveries, events, runs, schedules };
  });
  // Jobs hold ids only, but erasure leaves none: waiting, delayed, finished. A
  // job a worker holds right now cannot be removed; its delivery row is gone,
  // so it finishes without sending. The same holds for a run's step job (its
  // run is gone: the job is stale) and a schedule's job scheduler (an
  // occurrence finds no row and sends nothing; the maintenance sweep removes
  // a scheduler left behind).
  const pending = runs.filter((r) => r.status === 'running' && r.next_at !== null);
  const removed = await Promise.all([
    ...deliveries.map((d) => deps.queues[d.channel].remove(d.id).catch(() => 0)),
    ...(deps.events ? events.map((id) => deps.events!.remove(id).catch(() => 0)) : []),
    ...(deps.workflows ? pending.map((r) => deps.workflows!.remove(workflowStepJobId(r.id, r.step_index, r.next_at!)).catch(() => 0)) : []),
  ]);
  if (deps.schedules) await Promise.all(schedules.map((id) => deps.schedules!.removeJobScheduler(id).catch(() => false)));
  return {
    user_id: userId,
    notifications: counts.notifications,
    deliveries: deliveries.length,
    inbox_items: counts.inbox_items,
    status_events: events.length,
    workflow_runs: runs.length,
    schedules: schedules.length,
    jobs_removed: removed.reduce<number>((a, b) => a + b, 0),
  };
}
