import type { Db } from '@notify/core/platform';
import { createTemplate, getTemplate, listTemplates, previewTemplate, updateTemplate } from '@notify/core/content';
import { CreateTemplateBody, PageQuery, Preview, PreviewBody, Template, TemplateBody, TemplateKey, TemplateList } from '@notify/core/schemas';
import { z } from 'zod';
import { newRouter } from '../router.js';
import { errorResponses, jsonBody, jsonResponse, pageResponses, pathParams, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

const KeyParams = pathParams({ key: TemplateKey });
const VersionQuery = z.object({ version: z.coerce.number().int().min(1).optional().meta({ description: 'A past version; default the latest' }) });

/** Templates: versioned, per-channel, per-locale content rendered with Liquid. */
export function templateRoutes(deps: { db: Db }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createTemplate',
      tags: ['templates'],
      summary: 'Create a template (version 1)',
      request: { body: jsonBody(CreateTemplateBody) },
      responses: { 201: jsonResponse('Created', Template), ...errorResponses(409) },
    }),
    async (c) => {
      const { key, ...body } = c.req.valid('json');
      const template = await createTemplate(db, c.get('appId'), key, TemplateBody.parse(body), keyActor(c));
      return c.json(template, 201);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listTemplates',
      tags: ['templates'],
      summary: 'Templates by key',
      request: { query: PageQuery },
      responses: pageResponses(TemplateList),
    }),
    async (c) => c.json(await listTemplates(db, c.get('appId'), c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{key}',
      operationId: 'getTemplate',
      tags: ['templates'],
      summary: 'A template at its latest version, or `?version=n`',
      request: { params: KeyParams, query: VersionQuery },
      responses: { 200: jsonResponse('The template', Template), ...errorResponses(404) },
    }),
    async (c) => c.json(await getTemplate(db, c.get('appId'), c.req.valid('param').key, c.req.valid('query').version), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'put',
      path: '/{key}',
      operationId: 'replaceTemplate',
      tags: ['templates'],
      summary: 'Replace a template: adds a new version',
      description:
        'A full replacement, not a patch: the body is the whole new version, and what it omits is gone from it (no `category` means none; the channels are those its locales have). Notifications already made keep the version they used.',
      request: { params: KeyParams, body: jsonBody(TemplateBody) },
      responses: { 200: jsonResponse('The new version', Template), ...errorResponses(404) },
    }),
    async (c) => {
      const template = await updateTemplate(db, c.get('appId'), c.req.valid('param').key, c.req.valid('json'), keyActor(c));
      return c.json(template, 200);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{key}/preview',
      operationId: 'previewTemplate',
      tags: ['templates'],
      summary: 'Render a template without sending anything',
      request: { params: KeyParams, body: jsonBody(PreviewBody) },
      responses: { 200: jsonResponse('What it renders to', Preview), ...errorResponses(404) },
    }),
    async (c) => c.json(await previewTemplate(db, c.get('appId'), c.req.valid('param').key, c.req.valid('json')), 200),
  );

  return app;
}
