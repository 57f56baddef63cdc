import { describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.js';
import type { Envelope, Provider } from './provider.js';
import { ProviderChain } from './provider-chain.js';
import { ProviderError } from './provider-error.js';

const ctx = { deliveryId: 'd', notificationId: 'n', attempt: 1, log: createLogger('silent') };
const email: Envelope = { channel: 'email', message: { to: 'a@example.com', subject: 's', text: 't', html: 'h' } };

function provider(name: string, behave: () => Promise<string>, extra: Partial<Provider> = {}): Provider & { calls: number } {
  const p = {
    name,
    channels: ['email' as const],
    calls: 0,
    async send() {
      p.calls++;
      return { providerMessageId: await behave() };
    },
    ...extra,
  };
  return p;
}
const fails = (retryable: boolean) => async (): Promise<string> => {
  throw new ProviderError('no', { code: retryable ? 'down' : 'bad_address', retryable });
};

describe('ProviderChain', () => {
  it('moves to the next provider on a retryable failure', async () => {
    const chain = new ProviderChain('email', [provider('a', fails(true)), provider('b', async () => 'b-1')], { failureThreshold: 5, cooldownMs: 1000 });
    expect(await chain.send(email, ctx)).toEqual({ ok: true, provider: 'b', providerMessageId: 'b-1' });
  });

  it('stops at a permanent failure: another provider would refuse the message too', async () => {
    const b = provider('b', async () => 'b-1');
    const chain = new ProviderChain('email', [provider('a', fails(false)), b], { failureThreshold: 5, cooldownMs: 1000 });
    const out = await chain.send(email, ctx);
    expect(out).toMatchObject({ ok: false, provider: 'a', error: { code: 'bad_address' } });
    expect(b.calls).toBe(0);
  });

  it('skips a provider whose breaker is open, and reports circuit_open when none is left', async () => {
    const a = provider('a', fails(true));
    const chain = new ProviderChain('email', [a], { failureThreshold: 2, cooldownMs: 60_000 });
    await chain.send(email, ctx);
    await chain.send(email, ctx);
    expect(chain.states()).toEqual({ a: 'open' });
    const out = await chain.send(email, ctx);
    expect(out).toMatchObject({ ok: false, error: { code: 'circuit_open', retryable: true, notAttempted: true } });
    if (!out.ok) expect(out.error.retryAfterMs).toBeGreaterThan(59_000);
    expect(a.calls).toBe(2);
  });

  it('never trips on a provider without a breaker (each webhook is a different receiver)', async () => {
    const a = provider('a', fails(true), { circuitBreaker: false });
    const chain = new ProviderChain('email', [a], { failureThreshold: 1, cooldownMs: 60_000 });
    for (let i = 0; i < 3; i++) await chain.send(email, ctx);
    expect(a.calls).toBe(3);
    expect(chain.states()).toEqual({});
  });

  it('offers a message only to providers that accept it', async () => {
    const picky = provider('picky', async () => 'p', { accepts: () => false });
    const chain = new ProviderChain('email', [picky], { failureThreshold: 5, cooldownMs: 1000 });
    expect(await chain.send(email, ctx)).toMatchObject({ ok: false, error: { code: 'no_provider', retryable: false } });
    expect(picky.calls).toBe(0);
  });
});
