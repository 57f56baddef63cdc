import { describe, expect, test } from 'vitest';
import { backoffMs, parseRetryAfter, retryingFetch, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 5_000, maxTotalWaitMs: 10_000 };

/** A fetch answering from a script, one entry per attempt, recording what each attempt sent. */
function scripted(...answers: Array<Response | Error>) {
  const seen: Array<{ method: string; key: string | null; body: string }> = [];
  const fetch = async (request: Request) => {
    seen.push({ method: request.method, key: request.headers.get('idempotency-key'), body: await request.text() });
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, seen };
}

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const post = (headers: Record<string, string> = {}) => new Request('http://api.test/notifications', { method: 'POST', body: '{"user_id":"u1"}', headers });
const status = (code: number, headers: Record<string, string> = {}) => new Response('{}', { status: code, headers });

describe('parseRetryAfter', () => {
  test('reads delta-seconds and HTTP dates; ignores what it cannot read', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:03 GMT', Date.parse('2026-12-01T12:00:00Z'))).toBe(3_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 11:59:00 GMT', Date.parse('2026-12-01T12:00:00Z'))).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('backoffMs', () => {
  test('doubles per retry, jittered between half and all of it', () => {
    expect(backoffMs(0, policy, () => 0)).toBe(50);
    expect(backoffMs(0, policy, () => 1)).toBe(100);
    expect(backoffMs(3, policy, () => 1)).toBe(800);
  });
});

describe('retryingFetch', () => {
  test('a 429 is retried after its Retry-After, with the same body and Idempotency-Key', async () => {
    const { fetch, seen } = scripted(status(429, { 'retry-after': '2' }), status(202));
    const { waits, sleep } = recordingSleep();
    const res = await retryingFetch(fetch, policy, sleep)(post({ 'idempotency-key': 'k1' }));
    expect(res.status).toBe(202);
    expect(waits).toEqual([2_000]);
    expect(seen).toEqual([
      { method: 'POST', key: 'k1', body: '{"user_id":"u1"}' },
      { method: 'POST', key: 'k1', body: '{"user_id":"u1"}' },
    ]);
  });

  test('a 503 without Retry-After backs off exponentially, and the last answer is returned when the retries run out', async () => {
    const { fetch, seen } = scripted(status(503), status(503), status(503), status(503));
    const { waits, sleep } = recordingSleep();
    const res = await retryingFetch(fetch, policy, sleep)(post());
    expect(res.status).toBe(503);
    expect(seen).toHaveLength(4);
    expect(waits).toHaveLength(3);
    waits.forEach((ms, n) => {
      expect(ms).toBeGreaterThanOrEqual(50 * 2 ** n);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** n);
    });
  });

  test('retries: 0 sends once', async () => {
    const { fetch, seen } = scripted(status(429, { 'retry-after': '1' }));
    const res = await retryingFetch(fetch, { ...policy, retries: 0 }, recordingSleep().sleep)(post());
    expect(res.status).toBe(429);
    expect(seen).toHaveLength(1);
  });

  test('a Retry-After longer than maxDelayMs, or past maxTotalWaitMs, is answered as is instead of waited for', async () => {
    const long = scripted(status(429, { 'retry-after': '6' }));
    expect((await retryingFetch(long.fetch, policy, recordingSleep().sleep)(post())).status).toBe(429);
    expect(long.seen).toHaveLength(1);

    const total = scripted(status(429, { 'retry-after': '4' }), status(429, { 'retry-after': '4' }), status(429, { 'retry-after': '4' }));
    const { waits, sleep } = recordingSleep();
    expect((await retryingFetch(total.fetch, policy, sleep)(post())).status).toBe(429);
    expect(waits).toEqual([4_000, 4_000]);
    expect(total.seen).toHaveLength(3);
  });

  test('other errors are not retried: 400, 422, 500, and a 409 without a key', async () => {
    for (const answer of [status(400), status(422), status(500), status(409, { 'retry-after': '1' })]) {
      const { fetch, seen } = scripted(answer);
      expect((await retryingFetch(fetch, policy, recordingSleep().sleep)(post())).status).toBe(answer.status);
      expect(seen).toHaveLength(1);
    }
  });

  test('a 409 with Retry-After on a keyed send (its first attempt still in flight) is retried', async () => {
    const { fetch, seen } = scripted(status(409, { 'retry-after': '1' }), status(202));
    const res = await retryingFetch(fetch, policy, recordingSleep().sleep)(post({ 'idempotency-key': 'k2' }));
    expect(res.status).toBe(202);
    expect(seen).toHaveLength(2);
  });

  test('a network error is retried for a keyed POST and a GET, not for an unkeyed POST', async () => {
    const keyed = scripted(new TypeError('fetch failed'), status(202));
    expect((await retryingFetch(keyed.fetch, policy, recordingSleep().sleep)(post({ 'idempotency-key': 'k3' }))).status).toBe(202);

    const get = scripted(new TypeError('fetch failed'), status(200));
    expect((await retryingFetch(get.fetch, policy, recordingSleep().sleep)(new Request('http://api.test/notifications/n1'))).status).toBe(200);

    const unkeyed = scripted(new TypeError('fetch failed'), status(202));
    await expect(retryingFetch(unkeyed.fetch, policy, recordingSleep().sleep)(post())).rejects.toThrow('fetch failed');
    expect(unkeyed.seen).toHaveLength(1);
  });

  test('a network error on every attempt surfaces after the last retry', async () => {
    const { fetch, seen } = scripted(...Array.from({ length: 4 }, () => new TypeError('fetch failed')));
    await expect(retryingFetch(fetch, policy, recordingSleep().sleep)(post({ 'idempotency-key': 'k4' }))).rejects.toThrow('fetch failed');
    expect(seen).toHaveLength(4);
  });
});
