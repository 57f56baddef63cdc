import { describe, expect, it } from 'vitest';
import { planNotification } from './notifications.js';
import { CreateNotificationBody } from './schemas/notifications.js';

const body = (channels: string[]) =>
  CreateNotificationBody.parse({ user_id: 'u1', message: 'Hello', channels });
const now = new Date('2026-11-23T12:00:00Z');

describe('planNotification', () => {
  it('queues channels the user can be reached on and has not opted out of', () => {
    const plan = planNotification('app', body(['email', 'sms', 'in_app']), {
      email: 'a@example.com',
      phone: '+14155550100',
      deviceCount: 0,
      webhookUrl: null,
      optedOut: new Set(),
    }, now);
    expect(plan.deliveries.map((d) => [d.channel, d.status, d.reason])).toEqual([
      ['email', 'queued', null],
      ['sms', 'queued', null],
      ['in_app', 'queued', null],
    ]);
    expect(plan.priority).toBe('normal');
  });

  it('skips an opted-out channel as opted_out, even when a contact exists', () => {
    const plan = planNotification('app', body(['email', 'sms']), {
      email: 'a@example.com',
      phone: '+14155550100',
      deviceCount: 0,
      webhookUrl: null,
      optedOut: new Set(['sms']),
    }, now);
    expect(plan.deliveries.map((d) => [d.channel, d.status, d.reason])).toEqual([
      ['email', 'queued', null],
      ['sms', 'skipped', 'opted_out'],
    ]);
  });

  it('skips channels without a contact as no_contact; an unknown user still gets the in-app inbox', () => {
    const plan = planNotification('app', body(['email', 'sms', 'push', 'in_app', 'webhook']), undefined, now);
    expect(plan.deliveries.map((d) => [d.channel, d.status, d.reason])).toEqual([
      ['email', 'skipped', 'no_contact'],
      ['sms', 'skipped', 'no_contact'],
      ['push', 'skipped', 'no_contact'],
      ['in_app', 'queued', null],
      ['webhook', 'skipped', 'no_contact'],
    ]);
  });

  it('queues the webhook channel for a user with an endpoint', () => {
    const plan = planNotification('app', body(['webhook']), {
      email: null,
      phone: null,
      deviceCount: 0,
      webhookUrl: 'https://hooks.example.com/x',
      optedOut: new Set(),
    }, now);
    expect(plan.deliveries[0]).toMatchObject({ channel: 'webhook', status: 'queued' });
  });

  it('gives the notification and each delivery distinct time-ordered ids', () => {
    const plan = planNotification('app', body(['email', 'sms']), undefined, now);
    const ids = [plan.id, ...plan.deliveries.map((d) => d.id)];
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('CreateNotificationBody', () => {
  it('rejects a repeated channel and unknown fields', () => {
    expect(CreateNotificationBody.safeParse({ user_id: 'u', message: 'm', channels: ['sms', 'sms'] }).success).toBe(false);
    expect(CreateNotificationBody.safeParse({ user_id: 'u', message: 'm', channels: ['sms'], extra: 1 }).success).toBe(false);
  });

  it('rejects data larger than the limit', () => {
    const data = { blob: 'x'.repeat(20_000) };
    expect(CreateNotificationBody.safeParse({ user_id: 'u', message: 'm', channels: ['sms'], data }).success).toBe(false);
  });
});
