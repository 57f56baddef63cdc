import { z } from 'zod';
import { Timestamp } from './common.js';

/** A period as a count of minutes, hours or days: "30m", "12h", "1d", "7d" (at most 31 days). */
export const FrequencyPeriod = z
  .string()
  .regex(/^[1-9][0-9]{0,4}[mhd]$/, 'a period such as 30m, 12h, 1d or 7d')
  .refine((p) => periodMs(p) <= 31 * 86_400_000, 'at most 31 days')
  .meta({ example: '1d' });

export const FrequencyCap = z
  .object({
    count: z.number().int().min(1).max(10_000),
    period: FrequencyPeriod,
  })
  .strict()
  .meta({ id: 'FrequencyCap', description: 'At most `count` notifications of the category per user in each `period` window (windows start at fixed times since the epoch, UTC)' });
export type FrequencyCap = z.infer<typeof FrequencyCap>;

/** A valid FrequencyPeriod's length in milliseconds. */
export function periodMs(period: string): number {
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[period.slice(-1)] ?? Number.NaN;
  return Number.parseInt(period.slice(0, -1), 10) * unit;
}

export const Category = z
  .object({
    key: z.string(),
    description: z.string().nullable(),
    required: z.boolean().meta({ description: 'Users cannot opt out of a required category' }),
    built_in: z.boolean(),
    frequency_cap: FrequencyCap.nullable(),
  })
  .meta({ id: 'Category' });
export type Category = z.infer<typeof Category>;

export const PutCategoryBody = z
  .object({
    description: z.string().max(500).optional(),
    required: z.boolean().default(false),
    frequency_cap: FrequencyCap.nullable().optional().meta({ description: 'Omitted or null: no cap. A required category cannot have one.' }),
  })
  .strict()
  .meta({ id: 'PutCategory' });
export type PutCategoryBody = z.infer<typeof PutCategoryBody>;

export const CategoryList = z.object({ data: z.array(Category) }).meta({ id: 'CategoryList' });

/** What a pause holds: the whole app, one template (by key) or one category (by key). */
export const PAUSE_KINDS = ['app', 'template', 'category'] as const;
export type PauseKind = (typeof PAUSE_KINDS)[number];

export const Pause = z
  .object({
    kind: z.enum(PAUSE_KINDS),
    key: z.string().nullable().meta({ description: 'The template or category key; null for the whole app' }),
    paused: z.boolean(),
    paused_at: Timestamp.nullable(),
  })
  .meta({ id: 'Pause' });
export type Pause = z.infer<typeof Pause>;

export const PauseList = z.object({ data: z.array(Pause) }).meta({ id: 'PauseList' });
