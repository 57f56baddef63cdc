import { describe, expect, it } from 'vitest';
import { isConnectionError, statusOf, type ErrorCode } from './errors.js';

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
