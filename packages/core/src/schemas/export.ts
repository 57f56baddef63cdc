import { z } from 'zod';
import { Timestamp } from './common.js';
import { Attempt, Replay } from './deliveries.js';
import { InboxItem } from './inbox.js';
import { Delivery, Notification } from './notifications.js';
import { Schedule } from './schedules.js';
import { Preferences, User } from './users.js';
import { WorkflowRunStatus } from './workflow-runs.js';

const ExportedDelivery = Delivery.extend({ history: z.array(Attempt), replays: z.array(Replay) });

/** Everything the service holds about one user of one app (GDPR art. 15). */
export const UserExport = z
  .object({
    exported_at: Timestamp,
    user: User.meta({ description: 'Profile, contacts and devices' }),
    preferences: Preferences,
    topics: z.array(z.object({ topic: z.string(), subscribed_at: Timestamp })),
    notifications: z
      .array(Notification.extend({ deliveries: z.array(ExportedDelivery) }))
      .meta({ description: 'Oldest first, each with its deliveries, their attempts and replays' }),
    inbox: z.array(InboxItem).meta({ description: 'Oldest first' }),
    status_events: z
      .array(z.object({ id: z.uuid(), type: z.string(), status: z.string(), payload: z.record(z.string(), z.unknown()), created_at: Timestamp }))
      .meta({ description: "Status webhook events about the user's notifications, oldest first" }),
    workflow_runs: z
      .array(
        z.object({
          id: z.uuid(),
          workflow_key: z.string(),
          version: z.number().int(),
          status: WorkflowRunStatus,
          data: z.record(z.string(), z.unknown()),
          created_at: Timestamp,
        }),
      )
      .meta({ description: "The user's workflow runs with their trigger data, oldest first" }),
    schedules: z.array(Schedule).meta({ description: "Schedules naming the user in their target (`user_id`, or among a workflow target's `user_ids`), oldest first" }),
  })
  .meta({ id: 'UserExport' });
export type UserExport = z.infer<typeof UserExport>;
