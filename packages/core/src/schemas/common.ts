import { z } from 'zod';
import { isUuid } from '../platform/ids.js';
import { LIMITS } from '../platform/limits.js';

export const UserId = z
  .string()
  .min(1)
  .max(LIMITS.userIdLength)
  .regex(/^[A-Za-z0-9._:@|+-]+$/, 'may contain letters, digits and . _ : @ | + - only')
  .meta({ description: "Your system's id for the user", example: '123' });

/**
 * An id in a path. A string that cannot be one of our ids is refused with an
 * issue marked `not_found`, which the API answers 404 like an unknown id
 * (never a 500 from PostgreSQL's uuid parser).
 */
export const ResourceId = z
  .string()
  .refine(isUuid, { message: 'no such id (ids are UUIDs)', params: { not_found: true } })
  .meta({ description: 'A UUID, as this API returns it' });

/** Whether a zod issue came from ResourceId (or another "does not exist" check). */
export function isNotFoundIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.not_found === true;
}

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
