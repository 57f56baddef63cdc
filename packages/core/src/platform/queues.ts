import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { CHANNELS, type Channel, type Priority } from './channels.js';

/**
 * Queue names, one per channel. These are data stored in Redis keys:
 * renaming one strands the jobs already waiting under the old name.
 */
export const QUEUE = {
  email: 'notify.email',
  sms: 'notify.sms',
  push: 'notify.push',
  in_app: 'notify.in_app',
  webhook: 'notify.webhook',
} as const satisfies Record<Channel, string>;

/**
 * The BullMQ prefix of one queue: QUEUE_PREFIX and the queue's own hash tag,
 * so every key of a queue (BullMQ's scripts take several at once) sits in one
 * Redis Cluster slot and different queues land on different masters:
 * `bull:{notify.email}:notify.email:wait`. Single-node Redis uses the same
 * names, so moving to a cluster is a copy of the keys, not a rename.
 */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}:{${queue}}`;
}

/** BullMQ priorities: lower runs first. Every job gets one (unprioritised jobs would jump the line). */
export const PRIORITY = { critical: 1, high: 2, normal: 3, low: 4 } as const satisfies Record<Priority, number>;

/** What a delivery job carries: ids only, never contact details or content. */
export const DeliveryJob = z.object({
  delivery_id: z.uuid(),
  notification_id: z.uuid(),
  channel: z.enum(CHANNELS),
  /** The X-Request-Id of the request that made the notification, for logs. */
  request_id: z.string().optional(),
  /**
   * The W3C traceparent of the request's span, only when tracing is on: the
   * worker's span becomes its child. Jobs the outbox sweeper re-adds have none.
   */
  traceparent: z.string().optional(),
});
export type DeliveryJob = z.infer<typeof DeliveryJob>;

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

/**
 * Our backoff: exponential (base, 2×base, 4×base, ...) unless the provider said
 * when to come back (Retry-After). Workers register it as `backoffStrategy`.
 */
export const BACKOFF_TYPE = 'exponential_or_retry_after';

export function backoffDelay(attemptsMade: number, baseDelayMs: number, retryAfterMs: number | undefined, maxRetryAfterMs: number): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, maxRetryAfterMs);
  return Math.round(2 ** (attemptsMade - 1) * baseDelayMs);
}

/** Job options for one delivery; `jobId` = delivery id makes adding twice harmless. */
export function deliveryJobOptions(deliveryId: string, priority: Priority, retry: RetryPolicy, delayMs = 0): JobsOptions {
  return {
    jobId: deliveryId,
    priority: PRIORITY[priority],
    ...(delayMs > 0 ? { delay: delayMs } : {}),
    attempts: retry.attempts,
    backoff: { type: BACKOFF_TYPE, delay: retry.baseDelayMs },
    // The deliveries table is the record: a completed job is deleted at once,
    // sparing Redis the trimming of a completed set on every completion. A job
    // added again after that (the sweeper, a retried enqueue) finds its delivery
    // finished at the claim and does nothing.
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

export type ChannelQueues = Record<Channel, Queue<DeliveryJob>>;

/** The queue of topic fan-outs: one job per batch, consumed by every worker process. */
export const FANOUT_QUEUE = 'notify.fanout';
export const FanoutJob = z.object({ batch_id: z.uuid(), request_id: z.string().optional() });
export type FanoutJob = z.infer<typeof FanoutJob>;

/** Status webhook events: one job per event and endpoint, id = the event id. */
export const EVENTS_QUEUE = 'notify.events';
export const StatusEventJob = z.object({ event_id: z.uuid() });
export type StatusEventJob = z.infer<typeof StatusEventJob>;

/**
 * Workflow runs: one job per step transition of a run (a step to run now, or
 * the end of a delay or digest window), consumed by every worker process.
 * The run's row is the record; the job only says "look at this run's step".
 */
export const WORKFLOWS_QUEUE = 'notify.workflows';
export const WorkflowStepJob = z.object({ run_id: z.uuid(), step_index: z.number().int().min(0), request_id: z.string().optional() });
export type WorkflowStepJob = z.infer<typeof WorkflowStepJob>;

/**
 * A step job's id: the run, the step and when it is due. Adding the job for
 * one state twice is harmless; each new state (the next step, the end of a
 * wait) gets a job of its own. No ':' (BullMQ reserves it in custom ids).
 */
export function workflowStepJobId(runId: string, stepIndex: number, dueAt: Date): string {
  return `${runId}-${stepIndex}-${dueAt.getTime()}`;
}

export function createWorkflowsQueue(connection: ConnectionOptions, prefix: string): Queue<WorkflowStepJob> {
  return new Queue<WorkflowStepJob>(WORKFLOWS_QUEUE, {
    connection,
    prefix: queuePrefix(prefix, WORKFLOWS_QUEUE),
    defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  });
}

/**
 * Recurring schedules: one BullMQ job scheduler per schedule (id = the
 * schedule's id) adds one `fire` job per occurrence, consumed by every worker
 * process; the schedule's row decides whether it still fires.
 */
export const SCHEDULES_QUEUE = 'notify.schedules';
export const ScheduleJob = z.object({ schedule_id: z.uuid() });
export type ScheduleJob = z.infer<typeof ScheduleJob>;

export function createSchedulesQueue(connection: ConnectionOptions, prefix: string): Queue<ScheduleJob> {
  return new Queue<ScheduleJob>(SCHEDULES_QUEUE, { connection, prefix: queuePrefix(prefix, SCHEDULES_QUEUE) });
}

export function createEventsQueue(connection: ConnectionOptions, prefix: string, baseDelayMs = 5000): Queue<StatusEventJob> {
  return new Queue<StatusEventJob>(EVENTS_QUEUE, {
    connection,
    prefix: queuePrefix(prefix, EVENTS_QUEUE),
    // With the 5 s base, about 21 minutes of retries (5 s, 10 s, 20 s, ...) for a receiver that is down.
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: baseDelayMs },
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  });
}

export function createFanoutQueue(connection: ConnectionOptions, prefix: string): Queue<FanoutJob> {
  return new Queue<FanoutJob>(FANOUT_QUEUE, {
    connection,
    prefix: queuePrefix(prefix, FANOUT_QUEUE),
    defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  });
}

export function createQueues(connection: ConnectionOptions, prefix: string): ChannelQueues {
  const entries = CHANNELS.map((c) => [c, new Queue<DeliveryJob>(QUEUE[c], { connection, prefix: queuePrefix(prefix, QUEUE[c]) })] as const);
  return Object.fromEntries(entries) as ChannelQueues;
}

export async function closeQueues(queues: ChannelQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
