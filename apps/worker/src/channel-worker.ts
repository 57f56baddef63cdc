import {
  backoffDelay,
  FANOUT_QUEUE,
  QUEUE,
  queuePrefix,
  type Channel,
  type DeliveryJob,
  type Db,
  EVENTS_QUEUE,
  type FanoutJob,
  type StatusEventJob,
  type Logger,
  type Pool,
  SCHEDULES_QUEUE,
  type ScheduleJob,
  WORKFLOWS_QUEUE,
  type WorkflowStepJob,
} from '@notify/core/platform';
import type { WorkflowDeps } from '@notify/core/workflows';
import type { NotificationDeps } from '@notify/core/notifications';
import type { FireDeps } from '@notify/core/schedules';
import { ProviderError, type Provider, type ProviderChain } from '@notify/core/channels';
import type { Telemetry, Tracer } from '@notify/core/observability';
import { hostname } from 'node:os';
import { Worker, type ConnectionOptions, type Queue } from 'bullmq';
import { DeliveryGroupCommit } from './delivery-group-commit.js';
import type { MessageDefaults } from './messages.js';
import { deliver, type DeliverResult } from './processors/deliver.js';
import type { SendGates } from './processors/send-gates.js';
import { fanout } from './processors/fanout.js';
import { deliverStatusEvent } from './processors/status-event.js';
import { workflowStep } from './processors/workflow-step.js';
import { fireScheduleJob } from './processors/schedule.js';

export interface StallSettings {
  /** Lock on a running job, renewed at half this while it runs (BullMQ default 30 s). */
  lockDurationMs: number;
  /** How often to look for jobs whose worker died (BullMQ default 30 s). */
  stalledIntervalMs: number;
  /** Stalls a job may have before BullMQ fails it (BullMQ default 1). */
  maxStalledCount: number;
}

export interface ChannelWorkerOptions {
  channel: Channel;
  connection: ConnectionOptions;
  /** QUEUE_PREFIX; the worker adds its queue's hash tag. */
  prefix: string;
  concurrency: number;
  pool: Pool;
  chain: ProviderChain;
  log: Logger;
  dbRetryMs: number;
  maxRetryAfterMs: number;
  stalls: StallSettings;
  defaults: MessageDefaults;
  /** At most `max` jobs per `durationMs` on this queue, across all its workers. */
  rateLimit?: { max: number; durationMs: number } | undefined;
  /** Start taking jobs at once (default); false leaves it to worker.run(). */
  autorun?: boolean;
  telemetry?: Telemetry;
  events?: Queue<StatusEventJob>;
  /** Pauses and frequency caps (one per process, shared by its channel workers); none when absent. */
  gates?: SendGates;
  /** Set when tracing is on. */
  tracer?: Tracer | undefined;
}

/** Wiring only: a BullMQ worker on the channel's queue running the deliver processor. */
export function createChannelWorker(o: ChannelWorkerOptions): Worker<DeliveryJob, DeliverResult> {
  const log = o.log.child({ channel: o.channel });
  const commits = new DeliveryGroupCommit({ pool: o.pool, log, dbRetryMs: o.dbRetryMs, events: o.events });
  const worker: Worker<DeliveryJob, DeliverResult> = new Worker<DeliveryJob, DeliverResult>(
    QUEUE[o.channel],
    (job, token) => {
      const deps = {
        pool: o.pool,
        commits,
        chain: o.chain,
        log,
        dbRetryMs: o.dbRetryMs,
        defaults: o.defaults,
        rateLimit: (ms: number) => worker.rateLimit(ms),
        telemetry: o.telemetry,
        gates: o.gates,
        tracer: o.tracer,
      };
      return deliver(job, deps, token);
    },
    {
      connection: o.connection,
      prefix: queuePrefix(o.prefix, QUEUE[o.channel]),
      // Stored on every job it takes (job.processedBy, shown by Bull Board): which replica sent a delivery.
      name: `${hostname()}:${process.pid}`,
      concurrency: o.concurrency,
      autorun: o.autorun ?? true,
      lockDuration: o.stalls.lockDurationMs,
      stalledInterval: o.stalls.stalledIntervalMs,
      maxStalledCount: o.stalls.maxStalledCount,
      ...(o.rateLimit ? { limiter: { max: o.rateLimit.max, duration: o.rateLimit.durationMs } } : {}),
      settings: {
        backoffStrategy: (attemptsMade, _type, err, job) =>
          backoffDelay(
            attemptsMade,
            job?.opts.backoff && typeof job.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 0) : 0,
            err instanceof ProviderError ? err.retryAfterMs : undefined,
            o.maxRetryAfterMs,
          ),
      },
    },
  );
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => log.warn({ delivery_id: jobId }, 'job stalled: its worker stopped; another will take it'));
  return worker;
}

/** Topic fan-outs (of sends and of workflow triggers): every worker process takes them, one at a time. */
export function createFanoutWorker(o: {
  connection: ConnectionOptions;
  prefix: string;
  deps: NotificationDeps & { workflows?: Queue<WorkflowStepJob> };
  log: Logger;
}): Worker<FanoutJob> {
  const worker = new Worker<FanoutJob>(FANOUT_QUEUE, (job) => fanout(job, o.deps), { connection: o.connection, prefix: queuePrefix(o.prefix, FANOUT_QUEUE), concurrency: 1 });
  worker.on('error', (err) => o.log.error({ err }, 'fan-out worker error'));
  worker.on('failed', (job, err) => o.log.warn({ batch_id: job?.data.batch_id, err }, 'fan-out step failed; it will resume from its cursor'));
  return worker;
}

/** Workflow run steps: every worker process takes them; a run's row lock keeps one step of one run to one worker at a time. */
export function createWorkflowWorker(o: { connection: ConnectionOptions; prefix: string; deps: WorkflowDeps; log: Logger; concurrency?: number }): Worker<WorkflowStepJob> {
  const worker = new Worker<WorkflowStepJob>(WORKFLOWS_QUEUE, (job, token) => workflowStep(job, o.deps, token), {
    connection: o.connection,
    prefix: queuePrefix(o.prefix, WORKFLOWS_QUEUE),
    concurrency: o.concurrency ?? 10,
  });
  worker.on('error', (err) => o.log.error({ err }, 'workflow worker error'));
  worker.on('failed', (job, err) => o.log.warn({ run_id: job?.data.run_id, step_index: job?.data.step_index, err }, 'workflow step failed; it will be retried'));
  return worker;
}

/** Status webhook events: every worker process sends them. */
export function createEventsWorker(o: { connection: ConnectionOptions; prefix: string; db: Db; webhook: Provider; log: Logger }): Worker<StatusEventJob> {
  const worker = new Worker<StatusEventJob>(EVENTS_QUEUE, (job) => deliverStatusEvent(job, { db: o.db, webhook: o.webhook, log: o.log }), {
    connection: o.connection,
    prefix: queuePrefix(o.prefix, EVENTS_QUEUE),
    concurrency: 10,
  });
  worker.on('error', (err) => o.log.error({ err }, 'status events worker error'));
  return worker;
}

/** Recurring schedules' occurrences: every worker process takes them; BullMQ gives each occurrence's job to one. */
export function createScheduleWorker(o: { connection: ConnectionOptions; prefix: string; deps: FireDeps; log: Logger }): Worker<ScheduleJob> {
  const worker = new Worker<ScheduleJob>(SCHEDULES_QUEUE, (job) => fireScheduleJob(job, o.deps), {
    connection: o.connection,
    prefix: queuePrefix(o.prefix, SCHEDULES_QUEUE),
    concurrency: 5,
  });
  worker.on('error', (err) => o.log.error({ err }, 'schedules worker error'));
  worker.on('failed', (job, err) => o.log.warn({ schedule_id: job?.data.schedule_id, err }, 'schedule occurrence failed'));
  return worker;
}
