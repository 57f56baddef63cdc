import { z } from 'zod';
import { CHANNELS, PRIORITIES } from '../platform/channels.js';
import { LIMITS } from '../platform/limits.js';
import { Timestamp } from './common.js';
import { CategoryKey, TemplateKey } from './templates.js';

/** Size caps of a workflow definition; part of the public contract (README "Workflows"). */
export const WORKFLOW_LIMITS = {
  steps: 50,
  /** The longest delay or digest window. */
  maxDurationSeconds: 30 * 24 * 3600,
  pathLength: 200,
} as const;

const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in a duration such as `15m`, or null when it is not one. */
export function durationSeconds(duration: string): number | null {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(duration);
  if (!m) return null;
  return Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
}

export const WorkflowKey = TemplateKey.meta({ example: 'comment_flow' });

export const StepId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
  .meta({ example: 'inbox' });

export const Duration = z
  .string()
  .refine(
    (d) => {
      const s = durationSeconds(d);
      return s !== null && s >= 1 && s <= WORKFLOW_LIMITS.maxDurationSeconds;
    },
    { message: 'must be a whole number of s, m, h or d (such as 15m), from 1s to 30d' },
  )
  .meta({ example: '15m' });

export const TimeOfDay = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)')
  .meta({ example: '09:00', description: "The next such time in the user's time zone (their timezone, else UTC)" });

/** A dot path into the trigger's data: `data.post_id`. */
export const DataPath = z
  .string()
  .max(WORKFLOW_LIMITS.pathLength)
  .regex(/^data(\.[A-Za-z0-9_-]+)+$/, 'must be a path into the trigger data, such as data.post_id');

/** `data.post_id`, or the same path written as Liquid: `{{ data.post_id }}`. */
const DigestKeyPath = z
  .string()
  .max(WORKFLOW_LIMITS.pathLength)
  .regex(/^(\{\{\s*)?data(\.[A-Za-z0-9_-]+)+(\s*\}\})?$/, 'must be a path into the trigger data, such as data.post_id')
  .refine((k) => k.startsWith('{{') === k.endsWith('}}'), { message: 'unbalanced {{ }}' });

/** Where a branch goes: a later step's id, or `end`. */
const Target = z.union([z.literal('end'), StepId]).meta({ description: 'A later step id, or `end`' });

const Channels = z
  .array(z.enum(CHANNELS))
  .min(1)
  .max(CHANNELS.length)
  .refine((cs) => new Set(cs).size === cs.length, { message: 'must not repeat a channel' });

/** One of two fields, never both, never neither. */
function exactlyOne<K extends string>(a: K, b: K) {
  return (s: Partial<Record<K, unknown>>, ctx: z.RefinementCtx) => {
    if ((s[a] === undefined) === (s[b] === undefined)) ctx.addIssue({ code: 'custom', path: [a], message: `give either ${a} or ${b}` });
  };
}

export const SendStep = z
  .object({
    id: StepId,
    type: z.literal('send'),
    channels: Channels,
    template: TemplateKey.optional().meta({ description: 'A template of this app (rendered at its latest version when the step runs); or give message' }),
    message: z.string().min(1).max(LIMITS.messageLength).optional().meta({ description: 'Plain text to send; or give template' }),
    priority: z.enum(PRIORITIES).optional(),
    category: CategoryKey.optional(),
    subject: z.string().min(1).max(LIMITS.subjectLength).optional(),
  })
  .strict()
  .superRefine(exactlyOne('template', 'message'))
  .meta({ id: 'WorkflowSendStep', description: 'Creates an ordinary notification: preferences, quiet hours, consent, suppression and caps apply' });

export const DelayStep = z
  .object({ id: StepId, type: z.literal('delay'), duration: Duration.optional(), until: TimeOfDay.optional() })
  .strict()
  .superRefine(exactlyOne('duration', 'until'))
  .meta({ id: 'WorkflowDelayStep', description: 'Waits a duration, or until a time of day in the user’s time zone' });

export const DigestStep = z
  .object({
    id: StepId,
    type: z.literal('digest'),
    window: Duration.optional(),
    until: TimeOfDay.optional(),
    key: DigestKeyPath.optional().meta({ description: 'Collect separately per value of this trigger data path', example: 'data.post_id' }),
  })
  .strict()
  .superRefine(exactlyOne('window', 'until'))
  .meta({
    id: 'WorkflowDigestStep',
    description: 'Collects every trigger for the same user (and digest key) within the window, then continues once; templates get `events`, each trigger’s data',
  });

const Scalar = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const StepCondition = z
  .object({ step: StepId.meta({ description: 'An earlier send step' }), is: z.enum(['read', 'not_read', 'delivered', 'not_delivered']) })
  .strict()
  .meta({ id: 'WorkflowStepCondition', description: "An earlier send step's notification: read in the inbox, or delivered on some channel" });

export const FieldCondition = z
  .object({
    field: z.union([DataPath, z.enum(['user.locale', 'user.timezone', 'user.email', 'user.phone'])]).meta({ example: 'data.severity' }),
    op: z.enum(['eq', 'neq', 'gt', 'lt', 'exists', 'not_exists']),
    value: Scalar.optional().meta({ description: 'A JSON scalar; not with exists / not_exists' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const presence = c.op === 'exists' || c.op === 'not_exists';
    if (presence && c.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `not with ${c.op}` });
    if (!presence && c.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `required with ${c.op}` });
  })
  .meta({ id: 'WorkflowFieldCondition', description: 'A trigger data field or user attribute compared to a value' });

export const BranchStep = z
  .object({
    id: StepId,
    type: z.literal('branch'),
    if: z.union([StepCondition, FieldCondition]),
    // biome-ignore lint/suspicious/noThenProperty: the branch's documented field; a step is data, never awaited
    then: Target.optional().meta({ description: 'Where to go when the condition holds; default the next step' }),
    else: Target.optional().meta({ description: 'Where to go when it does not; default `end`' }),
  })
  .strict()
  .meta({ id: 'WorkflowBranchStep' });

export const WorkflowStep = z.discriminatedUnion('type', [SendStep, DelayStep, DigestStep, BranchStep]).meta({ id: 'WorkflowStep' });
export type WorkflowStep = z.infer<typeof WorkflowStep>;
export type SendStep = z.infer<typeof SendStep>;
export type DelayStep = z.infer<typeof DelayStep>;
export type DigestStep = z.infer<typeof DigestStep>;
export type BranchStep = z.infer<typeof BranchStep>;
export type StepCondition = z.infer<typeof StepCondition>;
export type FieldCondition = z.infer<typeof FieldCondition>;

/** The body of PUT /workflows/{key}: a whole version. */
export const WorkflowBody = z
  .object({
    name: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    steps: z.array(WorkflowStep).min(1).max(WORKFLOW_LIMITS.steps).meta({ description: 'Run in order; a branch may skip ahead' }),
  })
  .strict()
  .meta({ id: 'WorkflowBody' });
export type WorkflowBody = z.infer<typeof WorkflowBody>;

export const CreateWorkflowBody = z
  .object({ key: WorkflowKey, ...WorkflowBody.shape })
  .strict()
  .meta({ id: 'CreateWorkflow' });

export const Workflow = z
  .object({
    key: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    version: z.number().int().meta({ description: 'The version shown: the latest unless `?version=n` asked for another' }),
    latest_version: z.number().int(),
    steps: z.array(WorkflowStep),
    created_at: Timestamp,
    updated_at: Timestamp.meta({ description: 'When the latest version was made' }),
  })
  .meta({ id: 'Workflow' });
export type Workflow = z.infer<typeof Workflow>;

export const WorkflowList = z
  .object({
    data: z.array(
      z.object({
        key: z.string(),
        latest_version: z.number().int(),
        name: z.string().nullable(),
        steps: z.number().int().meta({ description: 'How many steps' }),
        updated_at: Timestamp,
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'WorkflowList' });
export type WorkflowList = z.infer<typeof WorkflowList>;
