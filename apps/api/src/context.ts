import type { Logger } from '@notify/core/platform';
import type { Span } from '@notify/core/observability';

/** Per-request values every handler can read with c.get(...). */
export interface ApiEnv {
  Variables: {
    requestId: string;
    log: Logger;
    /** The tenant the request acts for (from its API key). */
    appId: string;
    /** The API key used, or the one that minted the user token used. */
    keyId: string;
    /** Set only for a request made with a user token: the user it is for. */
    tokenUser: string | undefined;
    /** Set only when tracing is on, for POST /notifications and /notifications/bulk: the request's span and its traceparent. */
    span: Span | undefined;
    traceparent: string | undefined;
  };
}
