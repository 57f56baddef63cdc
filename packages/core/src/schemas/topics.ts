import { z } from 'zod';
import { LIMITS } from '../platform/limits.js';
import { Timestamp, UserId } from './common.js';

export const TopicUsers = z
  .object({ user_ids: z.array(UserId).min(1).max(LIMITS.topicUsersPerCall) })
  .strict()
  .meta({ id: 'TopicUsers' });

export const Topic = z.object({ key: z.string(), subscribers: z.number().int(), created_at: Timestamp }).meta({ id: 'Topic' });
export type Topic = z.infer<typeof Topic>;

export const SubscriberPage = z
  .object({ data: z.array(z.object({ user_id: z.string(), subscribed_at: Timestamp })), next_cursor: z.string().nullable() })
  .meta({ id: 'SubscriberPage' });
export type SubscriberPage = z.infer<typeof SubscriberPage>;
