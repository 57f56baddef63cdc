import { AppError, LIMITS, type ErrorDetail } from '@notify/core/platform';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/**
 * Hostile input that zod cannot be trusted with, refused before any schema,
 * handler or database sees it:
 * - a NUL (U+0000) in any string: PostgreSQL text and jsonb refuse it with an
 *   error, which would be a 500 after part of the work was done;
 * - JSON nested deeper than LIMITS.jsonDepth: zod, JSON.stringify, the
 *   template renderer and Prisma all recurse, and 8,000 levels overflow the
 *   stack. The check itself walks with an explicit stack, so it cannot.
 * - a query parameter given twice (`limit=1&limit=500`): the schema would see
 *   an array and answer something unclear.
 * Each answers 422 `validation_failed` with the field's path in `details`.
 */

interface Frame {
  value: unknown;
  depth: number;
  key: string | number | null;
  parent: Frame | null;
}

function pathOf(frame: Frame): string {
  const parts: string[] = [];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) parts.push(String(f.key));
  return parts.reverse().join('.');
}

const hasNul = (s: string): boolean => s.includes('\0');

/** Shows a key with a NUL in it readably (`a\u0000b`) in an error path. */
const printable = (s: string): string => s.replace(/\0/g, '\\u0000');

/**
 * The first NUL or too-deep spot in parsed JSON, or null. `maxDepth` counts
 * containers: the body object itself is depth 1, `{"data": {}}` reaches 2.
 * `checkNul: false` skips the string scan when the raw text cannot hold one.
 */
export function findUnsafeJson(value: unknown, maxDepth: number, checkNul = true): ErrorDetail | null {
  const stack: Frame[] = [{ value, depth: 0, key: null, parent: null }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const v = frame.value;
    if (typeof v === 'string') {
      if (checkNul && hasNul(v)) return { path: pathOf(frame), message: 'must not contain a NUL character (U+0000)' };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) return { path: pathOf(frame), message: `nests deeper than ${maxDepth} levels of objects and arrays` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, key: i, parent: frame });
      continue;
    }
    for (const [k, child] of Object.entries(v)) {
      if (checkNul && hasNul(k)) {
        const at = { value: k, depth, key: printable(k), parent: frame };
        return { path: pathOf(at), message: 'a key must not contain a NUL character (U+0000)' };
      }
      stack.push({ value: child, depth, key: k, parent: frame });
    }
  }
  return null;
}

function refuse(detail: ErrorDetail): never {
  throw new AppError('validation_failed', 'The request is not valid', [detail]);
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
/** A NUL can only be in parsed JSON if the text spells one as an escape. */
const NUL_ESCAPE = /\\u0000/i;

/**
 * Checks every JSON body before validation. It reads the body as text and
 * hands the parsed value to Hono's body cache, so the route's validator does
 * not parse it again. Bodies that are not JSON are left to the validator
 * (400 `invalid_json`, 415), as are empty ones (routes without a body).
 */
export function jsonGuard(maxDepth: number = LIMITS.jsonDepth): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const type = c.req.header('content-type');
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || !type || !JSON_TYPE.test(type.split(';')[0]!.trim())) return next();
    const text = await c.req.text();
    if (text.trim() === '') return next();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return next();
    }
    const unsafe = findUnsafeJson(body, maxDepth, NUL_ESCAPE.test(text));
    if (unsafe) refuse(unsafe);
    c.req.bodyCache.json = Promise.resolve(body);
    return next();
  };
}

/**
 * For the validation hook (context.ts), before a route's query schema runs:
 * a parameter given twice, or a NUL in a parameter's name or value.
 */
export function checkQuery(c: Context): void {
  if (!c.req.url.includes('?')) return;
  for (const [name, values] of Object.entries(c.req.queries())) {
    const path = printable(name);
    if (hasNul(name)) refuse({ path, message: 'a parameter name must not contain a NUL character (U+0000)' });
    if (values.length > 1) refuse({ path, message: `is given ${values.length} times; give it once` });
    if (values.some(hasNul)) refuse({ path, message: 'must not contain a NUL character (U+0000)' });
  }
}

/** For the validation hook: path parameters and headers the route reads, after their schema accepted them. */
export function checkStrings(data: unknown): void {
  if (data === null || typeof data !== 'object') return;
  for (const [name, value] of Object.entries(data)) {
    if (typeof value === 'string' && hasNul(value)) refuse({ path: name, message: 'must not contain a NUL character (U+0000)' });
  }
}
