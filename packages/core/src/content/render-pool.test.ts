import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.js';
import { TemplateBody } from '../schemas/templates.js';
import { DEFAULT_RENDER_POOL, RENDER_BACKSTOP_GRACE_MS, RenderPool } from './render-pool.js';

const sms = (text: string) => TemplateBody.parse({ locales: { en: { sms: { text } }, pt: { sms: { text: `pt ${text}` } } } });
/** One filter call that sorts three million numbers: Liquid cannot stop it between nodes. */
const ONE_SLOW_FILTER = '{% assign a = (1..3000000) | reverse | sort %}{{ a | size }}';

const pools: RenderPool[] = [];
const pool = (over: Partial<typeof DEFAULT_RENDER_POOL> = {}) => {
  const p = new RenderPool({ ...DEFAULT_RENDER_POOL, ...over });
  pools.push(p);
  return p;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

async function refusal(run: Promise<unknown>): Promise<AppError> {
  const err = await run.then(
    () => expect.unreachable('should be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('RenderPool', () => {
  it('renders every job in every locale asked for, keeping a locale that fails with the data as its own outcome', async () => {
    const p = pool();
    const result = await p.run({
      kind: 'render',
      body: sms('Hi {{ name }}'),
      channels: ['sms'],
      jobs: [
        { path: 'recipients.0.', locales: ['en', 'pt'], data: { name: 'Ana' } },
        { path: 'recipients.1.', locales: ['en'], data: {} },
      ],
    });
    expect(result).toEqual({
      ok: true,
      outcomes: [
        { en: { content: { sms: { text: 'Hi Ana' } } }, pt: { content: { sms: { text: 'pt Hi Ana' } } } },
        { en: { details: [{ path: 'template.sms.text', message: expect.stringMatching(/undefined variable: name/) }] } },
      ],
    });
  });

  it('shares one time budget among all jobs of a task, naming the job that ran out', async () => {
    const body = sms('{% for a in (1..300) %}{% for b in (1..600) %}{% endfor %}{% endfor %}');
    const one = [{ path: 'one.', locales: ['en'], data: {} }];
    // The budget is set from this machine's speed now: three of its slowest jobs' worth, so one fits and ten do not.
    const probe = pool({ timeMs: 60_000 });
    const took: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      await probe.run({ kind: 'render', body, channels: ['sms'], jobs: one });
      if (i > 0) took.push(performance.now() - start);
    }
    const slowestMs = Math.max(...took);
    const p = pool({ timeMs: Math.ceil(slowestMs * 3) });
    expect(await p.run({ kind: 'render', body, channels: ['sms'], jobs: one })).toMatchObject({ ok: true });
    const jobs = Array.from({ length: 10 }, (_, i) => ({ path: `recipients.${i}.`, locales: ['en'], data: { i } }));
    const result = await p.run({ kind: 'render', body, channels: ['sms'], jobs });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.kind).toBe('too_expensive');
    expect(result.details[0]!.path).toMatch(/^recipients\.[1-9]\.template\.sms\.text$/);
    // Six slow renders: on a loaded machine they take longer than the default 30 s.
  }, 120_000);

  it('kills a thread stuck in one long filter call past the budget plus grace, and the next task still renders', async () => {
    const p = pool({ timeMs: 200 });
    await p.run({ kind: 'render', body: sms('warm'), channels: ['sms'], jobs: [{ path: '', locales: ['en'], data: {} }] });
    const start = performance.now();
    const err = await refusal(
      p.run({ kind: 'render', body: sms(ONE_SLOW_FILTER), channels: ['sms'], jobs: [{ path: 'recipients.7.', locales: ['en'], data: {} }] }, ['recipients.7.']),
    );
    const elapsed = performance.now() - start;
    expect(err.code).toBe('template_too_expensive');
    expect(err.details).toEqual([{ path: 'recipients.7.template', message: expect.stringContaining('200 ms') }]);
    expect(elapsed).toBeGreaterThanOrEqual(200 + RENDER_BACKSTOP_GRACE_MS - 5);
    expect(elapsed).toBeLessThan(200 + RENDER_BACKSTOP_GRACE_MS + 400);
    const after = await p.run({ kind: 'render', body: sms('ok {{ n }}'), channels: ['sms'], jobs: [{ path: '', locales: ['en'], data: { n: 1 } }] });
    expect(after).toMatchObject({ ok: true, outcomes: [{ en: { content: { sms: { text: 'ok 1' } } } }] });
  });

  it('answers 503 with Retry-After when no thread frees up within the queue timeout', async () => {
    const p = pool({ threads: 1, timeMs: 300 });
    // The wait includes starting the thread (about a second through tsx): start it first, then shorten the wait.
    await p.run({ kind: 'render', body: sms('warm'), channels: ['sms'], jobs: [{ path: '', locales: ['en'], data: {} }] });
    p.options.queueTimeoutMs = 100;
    const busy = p.run({ kind: 'render', body: sms(ONE_SLOW_FILTER), channels: ['sms'], jobs: [{ path: '', locales: ['en'], data: {} }] });
    const waiting = await refusal(p.run({ kind: 'check', body: sms('fine') }));
    expect(waiting.code).toBe('unavailable');
    expect(waiting.headers).toEqual({ 'Retry-After': '1' });
    expect((await refusal(busy)).code).toBe('template_too_expensive');
  });

  it('checks syntax in a thread: every bad field, with the tag that reads files named', async () => {
    const p = pool();
    const body = TemplateBody.parse({ locales: { en: { sms: { text: "{% include 'x' %}" }, push: { title: '{% if %}', body: 'ok' } } } });
    const result = await p.run({ kind: 'check', body });
    expect(result).toEqual({
      ok: false,
      kind: 'invalid',
      details: [
        { path: 'locales.en.sms.text', message: expect.stringContaining('the include tag is not allowed') },
        { path: 'locales.en.push.title', message: expect.any(String) },
      ],
    });
  });
});
