import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { ErrorBody, ResourceId } from '@notify/core/schemas';
import { z } from 'zod';

/**
 * Path parameters, each documented under its own name:
 * `pathParams({ key: TopicKey })` for `/{key}`.
 */
export function pathParams<S extends Record<string, z.ZodType>>(shape: S) {
  const documented = Object.fromEntries(Object.entries(shape).map(([name, schema]) => [name, schema.meta({ param: { name, in: 'path' } })]));
  // .meta() returns a schema of the same type, so the shape's types hold.
  return z.object(documented as S);
}

/** `{id}` in a path: a malformed id is simply not found (404), like an unknown one. */
export const IdParams = pathParams({ id: ResourceId });

export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

/** A list answered whole, without pages: `{ "data": [...] }`. */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });

/** A required JSON request body: `request: { body: jsonBody(PutUserBody) }`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: json(schema) });

/** A JSON response: `responses: { 200: jsonResponse('The topic', Topic) }`. */
export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: json(schema) });

/**
 * A list route's responses: one page of the list, or 400 for a `cursor` that
 * is not a `next_cursor` we gave out. Spread it beside the route's own
 * errors: `{ ...pageResponses(SubscriberPage), ...errorResponses(404) }`.
 */
export const pageResponses = <T extends z.ZodType>(page: T, description = 'A page') => ({
  200: jsonResponse(description, page),
  ...errorResponses(400),
});

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (e.g. the body is not JSON, or a cursor is not valid)',
  401: 'Missing or invalid credentials',
  403: "Forbidden: a user token on a route it does not open (another user's, or not an inbox or preferences route), or from a browser origin its app does not allow; a cross-site request to an admin page",
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'The body is not application/json',
  422: 'The body or query failed validation',
  429: 'Rate limited; see Retry-After',
  500: 'Unexpected error (logged; the body names no internals)',
  503: 'PostgreSQL or Redis is unavailable; retry',
};

/** Error responses in the one error shape, for a route's OpenAPI description. */
export function errorResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? 'Error', content: json(ErrorBody) }])) as Record<
    S,
    { description: string; content: ReturnType<typeof json<typeof ErrorBody>> }
  >;
}

/**
 * What any request can answer whatever its route: the body limit runs before
 * routing (413) and any handler can fail unexpectedly (500).
 */
export const EVERY_REQUEST = [413, 500] as const;

/**
 * The statuses a tenant route answers because of how it is mounted and what it
 * validates, rather than what it does: API-key auth (401; 403 for a user
 * token, which opens only its user's inbox and preferences), the per-key rate
 * limit and failed-auth throttling (429), both reading PostgreSQL or Redis
 * (503); a JSON body that is not JSON (400) or not application/json (415);
 * 422 for a body, path, query or header parameter that is not valid, and on
 * every method but GET from the JSON guard (NUL bytes, nesting), which reads
 * any JSON body sent, declared or not.
 */
export function sharedStatuses(route: Pick<RouteConfig, 'method' | 'request'>): number[] {
  const { request } = route;
  const statuses = new Set<number>([...EVERY_REQUEST, 401, 403, 429, 503]);
  if (request?.body) for (const s of [400, 415]) statuses.add(s);
  if (request?.body || request?.params || request?.query || request?.headers || route.method !== 'get') statuses.add(422);
  return [...statuses];
}

/**
 * createRoute for a route behind the tenant middleware (see app.ts): adds the
 * shared statuses above to the ones the route lists itself (its own 404, 409,
 * a 400 for a bad cursor...).
 */
export function tenantRoute<R extends RouteConfig>(route: R): ReturnType<typeof createRoute<R['path'], R>> {
  return createRoute({ ...route, responses: { ...errorResponses(...sharedStatuses(route)), ...route.responses } });
}

/** The credentials of a route a user token opens (user-token-scope.ts): an API key or that user's token. */
export const KEY_OR_USER_TOKEN: Record<string, string[]>[] = [{ apiKey: [] }, { userToken: [] }];
