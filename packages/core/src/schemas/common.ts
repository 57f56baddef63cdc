import { z } from 'zod';
import { LIMITS } from '../limits.js';

export const UserId = z
  .string()
  .min(1)
  .max(LIMITS.userIdLength)
  .regex(/^[A-Za-z0-9._:@|+-]+$/, 'may contain letters, digits and . _ : @ | + - only')
  .meta({ description: "Your system's id for the user", example: '123' });

export const Timestamp = z.iso.datetime({ offset: true }).meta({ example: '2026-11-23T14:00:00.000Z' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'Error' });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.pageSize).default(LIMITS.defaultPageSize),
  cursor: z.string().max(200).optional().meta({ description: 'next_cursor from the previous page' }),
});

/** A BCP 47 locale such as `pt-BR`. */
export const LocaleTag = z
  .string()
  .min(2)
  .max(35)
  .refine(
    (l) => {
      try {
        return Intl.getCanonicalLocales(l).length === 1;
      } catch {
        return false;
      }
    },
    { message: 'must be a BCP 47 locale such as pt-BR' },
  );
