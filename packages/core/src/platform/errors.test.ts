import { describe, expect, it } from 'vitest';
import { isConnectionError, retryOnConflict, statusOf, type ErrorCode } from './errors.js';

describe('statusOf', () => {
  it('maps each code to its HTTP status', () => {
    const expected: Record<ErrorCode, number> = {
      invalid_json: 400,
      invalid_request: 400,
      validation_failed: 422,
      template_too_expensive: 422,
      template_output_too_large: 422,
      idempotency_key_reused: 422,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      conflict: 409,
      payload_too_large: 413,
      unsupported_media_type: 415,
      rate_limited: 429,
      unavailable: 503,
      internal: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect(statusOf(code as ErrorCode)).toBe(status);
  });
});

describe('isConnectionError', () => {
  it('counts a Redis Cluster failing over as unreachable (a 503 to retry), not as a refused command', () => {
    for (const message of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'Failed to refresh slots cache.',
      "Cluster isn't ready and enableOfflineQueue options is false",
    ]) {
      expect(isConnectionError(new Error(message)), message).toBe(true);
    }
    expect(isConnectionError(new Error("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
  });
});

describe('retryOnConflict', () => {
  const failing = (codes: string[]) => {
    let calls = 0;
    const fn = async () => {
      const code = codes[calls++];
      if (code) throw Object.assign(new Error(code), { code });
      return calls;
    };
    return { fn, calls: () => calls };
  };

  it('runs again after a deadlock or a serialization failure, and returns what the last run returned', async () => {
    const f = failing(['40P01', '40001']);
    expect(await retryOnConflict(f.fn)).toBe(3);
  });

  it('passes any other error through at once', async () => {
    const f = failing(['23505']);
    await expect(retryOnConflict(f.fn)).rejects.toMatchObject({ code: '23505' });
    expect(f.calls()).toBe(1);
  });

  it('gives up after its attempts, with the last conflict', async () => {
    const f = failing(['40P01', '40P01', '40P01']);
    await expect(retryOnConflict(f.fn, 3)).rejects.toMatchObject({ code: '40P01' });
    expect(f.calls()).toBe(3);
  });
});
