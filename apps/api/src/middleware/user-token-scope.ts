/**
 * The only routes a user token opens: its own user's inbox (every action,
 * and the stream) and preferences. Matched on the path before routing, so
 * anything not listed here (every other route, another user's) is refused
 * whatever the routers hold.
 */
const SCOPE = /^\/users\/([^/]+)\/(inbox(?:\/[^/]+){0,2}|preferences)$/;

/** The methods those routes use; what a preflight allows. */
export const USER_TOKEN_METHODS = ['GET', 'POST', 'DELETE'] as const;
const METHODS = new Set<string>([...USER_TOKEN_METHODS, 'HEAD']);

export interface TokenScope {
  /** The user whose routes these are (the path's user id, decoded). */
  userId: string;
  /** The inbox stream: the one route that takes the token as `?token=` (EventSource sends no headers). */
  stream: boolean;
}

/** What a user token may do on this request, or null when no user token opens it. */
export function userTokenScope(method: string, path: string): TokenScope | null {
  const match = SCOPE.exec(path);
  if (!match || !METHODS.has(method)) return null;
  let userId: string;
  try {
    userId = decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
  return { userId, stream: match[2] === 'inbox/stream' && (method === 'GET' || method === 'HEAD') };
}
