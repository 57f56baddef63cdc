import { describe, expect, it } from 'vitest';
import { withDbRetry } from './db-retry.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('withDbRetry', () => {
  it('retries connection errors until the call succeeds', async () => {
    let calls = 0;
    const result = await withDbRetry(async () => {
      if (++calls < 3) throw refused();
      return 'ok';
    }, 5000);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      withDbRetry(async () => {
        calls++;
        throw new Error('duplicate key value violates unique constraint');
      }, 5000),
    ).rejects.toThrow(/duplicate key/);
    expect(calls).toBe(1);
  });

  it('gives up after the window', async () => {
    const started = Date.now();
    await expect(withDbRetry(async () => Promise.reject(refused()), 300)).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
