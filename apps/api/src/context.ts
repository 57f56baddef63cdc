import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '@notify/core';
import { validationError } from './errors.js';

/** Per-request values every handler can read with c.get(...). */
export interface ApiEnv {
  Variables: {
    requestId: string;
    log: Logger;
    /** The tenant the request acts for (from its API key). */
    appId: string;
    /** The API key used. */
    keyId: string;
  };
}

/** A router whose validation failures become our 422 error shape. */
export function newRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}
