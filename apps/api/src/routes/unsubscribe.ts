import { createRoute } from '@hono/zod-openapi';
import type { Db } from '@notify/core/platform';
import { unsubscribeByLink, unsubscribeTarget, type UnsubscribeTarget } from '@notify/core/audience';
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../context.js';
import { newRouter } from '../router.js';
import { errorResponses, EVERY_REQUEST, jsonResponse, pathParams } from '../openapi.js';

const TokenParams = pathParams({ token: z.string().min(1).max(2000).meta({ description: 'The signed token of the link in the email' }) });
const OneClick = z.record(z.string(), z.string()).meta({ id: 'OneClickUnsubscribe', description: 'As mail clients send it (RFC 8058): List-Unsubscribe=One-Click' });
const Unsubscribed = z
  .object({
    unsubscribed: z.literal(true),
    category: z.string().nullable().meta({ description: 'The category opted out of for email; null: email as a whole' }),
  })
  .meta({ id: 'Unsubscribed' });

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
const what = (t: UnsubscribeTarget) => (t.category === null ? 'these emails' : `emails of the category “${escapeHtml(t.category)}”`);

/** A page with nothing from elsewhere; its form posts back to the page's own URL (the token stays out of the HTML). */
function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;
}

/** The link is the user's credential for this one change: never cached, never sent on as a referrer, never framed. */
const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

const wantsHtml = (c: Context<ApiEnv>) => (c.req.header('accept') ?? '').includes('text/html');

/**
 * One-click unsubscribe (RFC 8058), with no login and no key: the signed
 * token in the path is the authority. GET only shows a page (mail scanners
 * fetch links); POST, as mail clients send it, opts the user out.
 */
export function unsubscribeRoutes(deps: { db: Db; unsubscribeSecret?: string | undefined }) {
  const app = newRouter();
  const secret = deps.unsubscribeSecret || undefined;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{token}',
      operationId: 'showUnsubscribe',
      tags: ['unsubscribe'],
      summary: 'The confirmation page of an unsubscribe link (changes nothing)',
      security: [],
      request: { params: TokenParams },
      responses: {
        200: { description: 'A page with a button that posts the unsubscribe', content: { 'text/html': { schema: z.string() } } },
        ...errorResponses(...EVERY_REQUEST, 404, 422),
      },
    }),
    (c) => {
      const target = unsubscribeTarget(secret, c.req.valid('param').token);
      const form = `<p>Stop receiving ${what(target)}?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
      return c.html(page('Unsubscribe', form), 200, PAGE_HEADERS);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{token}',
      operationId: 'unsubscribe',
      tags: ['unsubscribe'],
      summary: "Opt the link's user out of its category for email (idempotent)",
      description: 'What mail clients post for List-Unsubscribe-Post (RFC 8058). A tampered or unknown token is 404 and writes nothing.',
      security: [],
      request: { params: TokenParams, body: { content: { 'application/x-www-form-urlencoded': { schema: OneClick } } } },
      responses: {
        200: {
          description: 'Unsubscribed (also when it already was); an HTML page when the request accepts text/html (the confirmation page)',
          content: { ...jsonResponse('', Unsubscribed).content, 'text/html': { schema: z.string() } },
        },
        ...errorResponses(...EVERY_REQUEST, 404, 422, 503),
      },
    }),
    async (c) => {
      const target = await unsubscribeByLink(deps.db, secret, c.req.valid('param').token, c.get('requestId'));
      if (wantsHtml(c)) return c.html(page('Unsubscribed', `<p>You will no longer get ${what(target)}.</p>`), 200, PAGE_HEADERS);
      return c.json({ unsubscribed: true as const, category: target.category }, 200);
    },
  );
  return app;
}
