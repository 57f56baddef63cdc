import { z } from 'zod';
import { CHANNELS } from '../platform/channels.js';
import { LIMITS } from '../platform/limits.js';
import { LocaleTag, Timestamp } from './common.js';

const Source = (max: number) => z.string().min(1).max(max);

export const TemplateKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits and . _ - only')
  .meta({ example: 'order_shipped' });

export const CategoryKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
  .meta({ example: 'marketing' });

/** One locale's content: a template for each channel it can send (Liquid). */
export const TemplateContent = z
  .object({
    email: z
      .object({ subject: Source(998), text: Source(LIMITS.templateSourceLength), html: Source(LIMITS.templateSourceLength).optional() })
      .strict()
      .optional(),
    sms: z
      .object({ text: Source(LIMITS.messageLength) })
      .strict()
      .optional(),
    push: z
      .object({ title: Source(500), body: Source(4000) })
      .strict()
      .optional(),
    in_app: z
      .object({ title: Source(500).optional(), body: Source(LIMITS.messageLength), link: Source(2000).optional() })
      .strict()
      .optional(),
    webhook: z
      .object({ payload: z.record(z.string(), z.unknown()) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 0, { message: 'needs content for at least one channel' })
  .meta({ id: 'TemplateContent', description: 'Liquid templates per channel; webhook payload strings are templates too' });
export type TemplateContent = z.infer<typeof TemplateContent>;

export const TemplateBody = z
  .object({
    name: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    default_locale: LocaleTag.default('en'),
    /** Category notifications from this template get unless the request names one. */
    category: CategoryKey.optional(),
    locales: z.record(LocaleTag, TemplateContent),
  })
  .strict()
  .refine((t) => Object.keys(t.locales).length > 0, { message: 'needs at least one locale', path: ['locales'] })
  .refine((t) => t.default_locale in t.locales, { message: 'must include the default_locale', path: ['locales'] })
  .meta({ id: 'TemplateBody' });
export type TemplateBody = z.infer<typeof TemplateBody>;

export const CreateTemplateBody = z.object({ key: TemplateKey }).and(TemplateBody).meta({ id: 'CreateTemplate' });

export const Template = z
  .object({
    key: z.string(),
    version: z.number().int(),
    latest_version: z.number().int(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    default_locale: z.string(),
    category: z.string().nullable(),
    channels: z.array(z.enum(CHANNELS)),
    locales: z.record(z.string(), TemplateContent),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof Template>;

export const TemplateList = z
  .object({
    data: z.array(Template.pick({ key: true, latest_version: true, name: true, channels: true, updated_at: true })),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'TemplateList' });

export const PreviewBody = z
  .object({
    data: z.record(z.string(), z.unknown()).default({}),
    locale: LocaleTag.optional(),
    version: z.number().int().min(1).optional(),
    channels: z.array(z.enum(CHANNELS)).min(1).optional(),
  })
  .strict()
  .meta({ id: 'PreviewTemplate' });

export const RenderedContent = z
  .object({
    email: z.object({ subject: z.string(), text: z.string(), html: z.string().optional() }).optional(),
    sms: z.object({ text: z.string() }).optional(),
    push: z.object({ title: z.string(), body: z.string() }).optional(),
    in_app: z.object({ title: z.string().optional(), body: z.string(), link: z.string().optional() }).optional(),
    webhook: z.object({ payload: z.record(z.string(), z.unknown()) }).optional(),
  })
  .meta({ id: 'RenderedContent' });
export type RenderedContent = z.infer<typeof RenderedContent>;

export const Preview = z.object({ key: z.string(), version: z.number().int(), locale: z.string(), content: RenderedContent }).meta({ id: 'TemplatePreview' });
export type Preview = z.infer<typeof Preview>;
