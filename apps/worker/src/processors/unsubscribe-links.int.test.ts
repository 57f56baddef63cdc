import { createSmtpProvider, type Provider } from '@notify/core/channels';
import { readUnsubscribeToken, unsubscribeByLink } from '@notify/core/audience';
import { createTestEnv, notificationFinished, startSmtpTestServer, type ReceivedMail, type SmtpTestServer, type TestEnv } from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';

/**
 * One-click unsubscribe through a real SMTP server: what the email carries
 * (List-Unsubscribe, List-Unsubscribe-Post), and that using its link (the
 * function POST /unsubscribe/{token} calls) stops the next email of that
 * category. The HTTP route itself is tested in the API (unsubscribe.int.test.ts).
 */
const SECRET = 'unsubscribe-secret-of-at-least-32-characters';
let t: TestEnv;
let smtp: SmtpTestServer;
let provider: Provider;
let worker: Worker;

beforeAll(async () => {
  t = await createTestEnv();
  smtp = await startSmtpTestServer();
  provider = createSmtpProvider({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Shop <shop@example.com>' });
  const defaults = { emailSubject: 'Notification', unsubscribe: { publicUrl: 'https://notify.example.com', secret: SECRET, mailto: 'unsubscribe@example.com' } };
  worker = createChannelWorker(testWorkerOptions(t, 'email', provider, { defaults }));
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'reader', email: 'reader@example.com' } });
});
afterAll(async () => {
  await worker?.close();
  await provider?.close?.();
  await smtp?.close();
  await t?.close();
});

async function email(category?: string) {
  const n = await notifyForTest(t, { user_id: 'reader', message: 'News', channels: ['email'], ...(category ? { category } : {}) });
  return notificationFinished(t.db, n.id);
}
/** The raw header lines of a received mail, by lower-cased name. */
const header = (m: ReceivedMail, name: string) =>
  m.mail.headerLines
    .find((h) => h.key === name)
    ?.line.replace(/^[^:]+:\s*/, '')
    .replace(/\r?\n\s+/g, ' ');

describe('List-Unsubscribe', () => {
  it('a marketing email carries the one-click link and the mailto; using the link opts the user out, and the next one is skipped', async () => {
    const sent = await email('marketing');
    expect(sent.deliveries[0]).toMatchObject({ status: 'delivered' });
    const mail = smtp.received.at(-1)!;
    expect(header(mail, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const links = header(mail, 'list-unsubscribe')!;
    const match = /^<(https:\/\/notify\.example\.com\/unsubscribe\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+))>, <mailto:unsubscribe@example\.com\?subject=unsubscribe%20\2>$/.exec(links);
    expect(match, links).not.toBeNull();
    const token = match![2]!;
    expect(readUnsubscribeToken(SECRET, token)).toEqual({ appId: t.appId, userId: 'reader', category: 'marketing' });

    await unsubscribeByLink(t.db, SECRET, token, null);
    const received = smtp.received.length;
    const next = await email('marketing');
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'opted_out' });
    expect(smtp.received).toHaveLength(received);

    // Other categories still arrive.
    expect((await email('transactional')).deliveries[0]).toMatchObject({ status: 'delivered' });
  });

  it('a required category (security) carries no List-Unsubscribe', async () => {
    const sent = await email('security');
    expect(sent.deliveries[0]).toMatchObject({ status: 'delivered' });
    const mail = smtp.received.at(-1)!;
    expect(header(mail, 'list-unsubscribe')).toBeUndefined();
    expect(header(mail, 'list-unsubscribe-post')).toBeUndefined();
  });
});
