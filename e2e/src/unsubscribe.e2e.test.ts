// One-click unsubscribe from end to end, as a mail client does it: the email a worker sent through a real SMTP
// server carries a List-Unsubscribe URL; POSTing that URL to the API opts the user out, and the next email of the
// category is skipped.
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, startSmtpTestServer, waitFor, type SmtpTestServer, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, startApi, startWorker, stopAll, type ApiService } from './processes.js';

const SECRET = 'an-unsubscribe-secret-of-32-characters-or-more';
let t: TestEnv;
let smtp: SmtpTestServer;
let api: ApiService;

beforeAll(async () => {
  t = await createTestEnv();
  smtp = await startSmtpTestServer();
  const port = await freePort();
  const shared = { PUBLIC_URL: `http://127.0.0.1:${port}`, UNSUBSCRIBE_SECRET: SECRET };
  api = await startApi(t, { ...shared, PORT: String(port) });
  await startWorker(t, ['email'], { ...shared, EMAIL_PROVIDERS: 'smtp', SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
  expect((await api.call('PUT', '/users/reader', { email: 'reader@example.com' })).status).toBeLessThan(300);
});
afterAll(async () => {
  await stopAll();
  await smtp?.close();
  await t?.close();
});

async function sendMarketing(): Promise<Notification['deliveries'][number]> {
  const res = await api.call('POST', '/notifications', { user_id: 'reader', message: 'Spring sale', channels: ['email'], category: 'marketing' });
  const { id } = (await res.json()) as Notification;
  return waitFor(
    async () => {
      const d = ((await (await api.call('GET', `/notifications/${id}`)).json()) as Notification).deliveries[0]!;
      return d.status === 'delivered' || d.status === 'skipped' ? d : undefined;
    },
    20_000,
    'the email finished',
  );
}

it('POSTing the List-Unsubscribe URL of a sent email opts the user out; a GET of it changes nothing; the next marketing email is skipped/opted_out', async () => {
  expect(await sendMarketing()).toMatchObject({ status: 'delivered' });
  const mail = smtp.received.at(-1)!;
  const line = mail.mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line.replace(/\r?\n\s+/g, ' ');
  const url = /<(http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[^>]+)>/.exec(line)?.[1];
  expect(url, line).toBeDefined();

  // A mail scanner's prefetch: a page, and nothing changes.
  const page = await fetch(url!);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(await sendMarketing()).toMatchObject({ status: 'delivered' });

  // The mail client's one-click POST (RFC 8058): no key, no login.
  const click = () => fetch(url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  expect((await click()).status).toBe(200);
  expect((await click()).status).toBe(200);
  const received = smtp.received.length;
  expect(await sendMarketing()).toMatchObject({ status: 'skipped', reason: 'opted_out' });
  expect(smtp.received).toHaveLength(received);
  const prefs = (await (await api.call('GET', '/users/reader/preferences')).json()) as { categories: Record<string, { channels: Record<string, boolean> }> };
  expect(prefs.categories.marketing?.channels.email).toBe(false);
});
