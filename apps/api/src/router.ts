import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from './context.js';
import { validationError } from './errors.js';
import { checkQuery, checkStrings } from './middleware/input-guard.js';

/** A router whose validation failures become our 422 error shape. */
export function newRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      // Repeated or NUL-bearing query parameters get a clear answer before the schema's.
      if (result.target === 'query') checkQuery(c);
      if (!result.success) throw validationError(result.error);
      if (result.target === 'param' || result.target === 'header') checkStrings(result.data);
    },
  });
}
