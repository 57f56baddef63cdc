import { z } from 'zod';
import { Timestamp } from './common.js';

/** How long a user token lives: an hour unless asked, a day at most. */
export const USER_TOKEN_SECONDS = { default: 3600, max: 86_400 } as const;

export const MintUserTokenBody = z
  .object({
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(USER_TOKEN_SECONDS.max)
      .default(USER_TOKEN_SECONDS.default)
      .meta({ description: `Seconds the token is valid: 60 to ${USER_TOKEN_SECONDS.max}, default ${USER_TOKEN_SECONDS.default}` }),
  })
  .strict()
  .meta({ id: 'MintUserToken' });

export const UserToken = z
  .object({
    token: z.string().meta({ description: "A JWT for this user's inbox and preferences routes only: `Authorization: Bearer <token>`, or `?token=` on the stream" }),
    expires_at: Timestamp,
  })
  .meta({ id: 'UserToken' });
export type UserToken = z.infer<typeof UserToken>;

/** Origins at most in an app's list. */
export const MAX_CORS_ORIGINS = 50;

/**
 * `scheme://host[:port]` as browsers send it in `Origin`: http or https,
 * lower case, no path, no trailing slash, no default port, no wildcard.
 * Browsers compare origins exactly, so a near miss would never match.
 */
export const CorsOrigin = z
  .string()
  .max(300)
  .refine(
    (o) => {
      try {
        const url = new URL(o);
        // URL takes `*.example.com` as a host name: only letters, digits, dots, hyphens (or an IPv6 literal).
        const host = /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(url.hostname);
        return (url.protocol === 'https:' || url.protocol === 'http:') && host && url.origin === o;
      } catch {
        return false;
      }
    },
    { message: 'must be an origin as a browser sends it: http(s)://host[:port] in lower case, with no path, trailing slash or wildcard' },
  )
  .meta({ example: 'https://app.example.com' });

export const CorsSettings = z
  .object({
    allowed_origins: z.array(CorsOrigin).max(MAX_CORS_ORIGINS).meta({ description: 'Browser origins whose pages may call the user-token routes; empty: none (the default)' }),
  })
  .strict()
  .meta({ id: 'CorsSettings' });
export type CorsSettings = z.infer<typeof CorsSettings>;
