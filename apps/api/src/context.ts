import type { Logger } from '@notify/core/platform';

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
