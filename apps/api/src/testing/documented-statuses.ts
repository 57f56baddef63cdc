import type { Env, Hono } from 'hono';

/** The part of an OpenAPI document the check reads. */
export interface OpenApiPaths {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

interface Route {
  method: string;
  path: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A Hono route pattern (`/users/:user_id/inbox/:id{[0-9a-f-]+}`, `*`) as a regular expression. */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      const param = /^:[A-Za-z_]\w*(?:\{(.+)\})?$/.exec(segment);
      if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
      return segment === '*' ? '.*' : escapeRegExp(segment);
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/** `/users/:user_id/inbox/:id{...}` as the document writes it: `/users/{user_id}/inbox/{id}`. */
const documentPath = (path: string) => path.replace(/:([A-Za-z_]\w*)(?:\{[^/]*\})?/g, '{$1}');

/**
 * Why a response breaks the contract, or null. The operation is the first
 * route (in registration order, as Hono picks it) whose method and pattern
 * match the request. Paths outside the document (Bull Board, the dashboard,
 * /docs) and requests no route matches are not judged.
 */
export function undocumentedStatus(doc: OpenApiPaths, routes: readonly Route[], method: string, pathname: string, status: number): string | null {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const route = routes.find((r) => r.method === wanted && patternOf(r.path).test(pathname));
  if (!route) return null;
  const path = documentPath(route.path);
  const operation = doc.paths[path]?.[wanted.toLowerCase()];
  if (!operation || String(status) in operation.responses) return null;
  return `${method} ${pathname} answered ${status}, which ${wanted} ${path} does not document (it documents ${Object.keys(operation.responses).join(', ')})`;
}

/**
 * Makes every response of `app` (through app.request or app.fetch) checked
 * against the OpenAPI document it serves: an undocumented status rejects the
 * request, so the test that made it fails, and is kept in the returned list
 * (for responses whose rejection nobody awaits, e.g. behind a real server).
 */
export function checkDocumentedStatuses<E extends Env>(app: Hono<E>, documentPathname = '/openapi.json'): string[] {
  const violations: string[] = [];
  const fetch = app.fetch;
  let doc: Promise<OpenApiPaths> | undefined;
  app.fetch = async (request, ...rest) => {
    const res = await fetch(request, ...rest);
    doc ??= Promise.resolve(fetch(new Request(`http://localhost${documentPathname}`))).then((r) => r.json() as Promise<OpenApiPaths>);
    const violation = undocumentedStatus(await doc, app.routes, request.method, new URL(request.url).pathname, res.status);
    if (violation) {
      violations.push(violation);
      throw new Error(violation);
    }
    return res;
  };
  return violations;
}
