import type { Notification, Preview, Template } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/tpl-1', { email: 'ana@example.com', phone: '+14155550100', locale: 'pt-BR' });
  await t.call('PUT', '/users/tpl-2', { email: 'bob@example.com', locale: 'de-AT' });
});
afterAll(() => t?.close());

const shipped = {
  key: 'order_shipped',
  name: 'Order shipped',
  default_locale: 'en',
  category: 'transactional',
  locales: {
    en: {
      email: { subject: 'Order {{ order }} shipped', text: 'Hi {{ name }}, order {{ order }} is on its way.', html: '<p>Hi {{ name }}</p>' },
      sms: { text: 'Order {{ order }} shipped' },
    },
    pt: { email: { subject: 'Pedido {{ order }} enviado', text: 'Olá {{ name }}, o pedido {{ order }} está a caminho.' } },
  },
};

describe('templates', () => {
  it('creates version 1, lists it, and refuses the same key twice (409)', async () => {
    const res = await t.call('POST', '/templates', shipped);
    expect(res.status).toBe(201);
    expect(await json<Template>(res)).toMatchObject({ key: 'order_shipped', version: 1, latest_version: 1, channels: ['email', 'sms'], category: 'transactional' });
    expect((await t.call('POST', '/templates', shipped)).status).toBe(409);
    const list = await json<{ data: { key: string }[] }>(await t.call('GET', '/templates'));
    expect(list.data.map((x) => x.key)).toContain('order_shipped');
  });

  it('refuses a template that does not parse, naming the field (422)', async () => {
    const res = await t.call('POST', '/templates', { key: 'broken', locales: { en: { sms: { text: 'Hi {% if x %}' } } } });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details).toEqual([{ path: 'locales.en.sms.text', message: expect.stringMatching(/not closed/) }]);
  });

  it.each([
    ['no locales', { key: 'x', locales: {} }],
    ['a default locale it lacks', { key: 'x', default_locale: 'fr', locales: { en: { sms: { text: 'a' } } } }],
    ['a locale with no channel', { key: 'x', locales: { en: {} } }],
    ['an unknown channel', { key: 'x', locales: { en: { fax: { text: 'a' } } } }],
    ['a key with spaces', { key: 'a b', locales: { en: { sms: { text: 'a' } } } }],
  ])('refuses %s (422)', async (_what, body) => {
    expect((await t.call('POST', '/templates', body)).status).toBe(422);
  });

  it('previews in a locale, HTML-escaped in email HTML, and names missing variables (422)', async () => {
    const res = await t.call('POST', '/templates/order_shipped/preview', { data: { name: '<Ana>', order: 42 }, locale: 'pt-BR' });
    expect(res.status).toBe(200);
    const p = await json<Preview>(res);
    expect(p).toMatchObject({ version: 1, locale: 'pt', content: { email: { subject: 'Pedido 42 enviado' }, sms: { text: 'Order 42 shipped' } } });
    const en = await json<Preview>(await t.call('POST', '/templates/order_shipped/preview', { data: { name: '<Ana>', order: 42 } }));
    expect(en.content.email?.html).toBe('<p>Hi &lt;Ana&gt;</p>');
    const missing = await t.call('POST', '/templates/order_shipped/preview', { data: { order: 42 } });
    expect(missing.status).toBe(422);
    expect((await json<ErrorJson>(missing)).error.details?.map((d) => d.path)).toContain('template.email.text');
  });

  it('sends a notification from a template, rendered at request time in the user language, and records the version', async () => {
    const res = await t.call('POST', '/notifications', { user_id: 'tpl-1', template: 'order_shipped', data: { name: 'Ana', order: 7 } });
    expect(res.status).toBe(202);
    const n = await json<Notification>(res);
    expect(n).toMatchObject({
      template: { key: 'order_shipped', version: 1 },
      locale: 'pt',
      category: 'transactional',
      message: null,
      content: { email: { subject: 'Pedido 7 enviado' }, sms: { text: 'Order 7 shipped' } },
    });
    expect(n.deliveries.map((d) => d.channel)).toEqual(['email', 'sms']);
    // de-AT has no German: the default locale.
    const de = await json<Notification>(
      await t.call('POST', '/notifications', { user_id: 'tpl-2', template: 'order_shipped', channels: ['email'], data: { name: 'Bob', order: 8 } }),
    );
    expect(de.locale).toBe('en');
  });

  it('answers 422 at request time for a missing variable, and stores nothing', async () => {
    const before = await t.db.prisma.notification.count();
    const res = await t.call('POST', '/notifications', { user_id: 'tpl-1', template: 'order_shipped', data: { name: 'Ana' } });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.[0]).toMatchObject({ path: 'template.email.subject', message: expect.stringMatching(/undefined variable: order/) });
    expect(await t.db.prisma.notification.count()).toBe(before);
  });

  it('answers 404 for an unknown template and 422 for a channel the template cannot fill', async () => {
    expect((await t.call('POST', '/notifications', { user_id: 'tpl-1', template: 'nope', data: {} })).status).toBe(404);
    const res = await t.call('POST', '/notifications', { user_id: 'tpl-1', template: 'order_shipped', channels: ['push'], data: { name: 'a', order: 1 } });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details).toEqual([{ path: 'channels', message: 'template order_shipped has no content for push' }]);
  });

  it('adds a version on edit; old versions stay readable and notifications keep theirs', async () => {
    const before = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'tpl-2', template: 'order_shipped', data: { name: 'Bob', order: 1 } }));
    const { key: _key, ...v2 } = { ...shipped, locales: { en: { sms: { text: 'v2: {{ order }}' } } } };
    const edited = await t.call('PUT', '/templates/order_shipped', v2);
    expect(edited.status).toBe(200);
    expect(await json<Template>(edited)).toMatchObject({ version: 2, latest_version: 2, channels: ['sms'] });
    const v1 = await json<Template>(await t.call('GET', '/templates/order_shipped?version=1'));
    expect(v1).toMatchObject({ version: 1, latest_version: 2, channels: ['email', 'sms'] });
    expect((await t.call('GET', '/templates/order_shipped?version=9')).status).toBe(404);
    const after = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'tpl-2', template: 'order_shipped', data: { order: 2 } }));
    expect(after).toMatchObject({ template: { version: 2 }, content: { sms: { text: 'v2: 2' } } });
    const stored = await json<Notification>(await t.call('GET', `/notifications/${before.id}`));
    expect(stored).toMatchObject({ template: { version: 1 }, content: { email: { subject: 'Order 1 shipped' } } });
  });
});
