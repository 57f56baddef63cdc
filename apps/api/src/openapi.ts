import { ErrorBody } from '@notify/core';
import { z } from 'zod';

/** `{id}` in a path: any string (an id that is not ours is simply not found). */
export const IdParams = z.object({ id: z.string().max(100).meta({ param: { name: 'id', in: 'path' } }) });

export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (e.g. the body is not JSON)',
  401: 'Missing or invalid credentials',
  403: 'Forbidden (e.g. a cross-site request to an admin page)',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'The body is not application/json',
  422: 'The body or query failed validation',
  429: 'Rate limited; see Retry-After',
  503: 'PostgreSQL or Redis is unavailable; retry',
};

/** Error responses in the one error shape, for a route's OpenAPI description. */
export function errorResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? 'Error', content: json(ErrorBody) }]),
  ) as Record<S, { description: string; content: ReturnType<typeof json<typeof ErrorBody>> }>;
}
