// Mutation testing of the pure modules: `npm run mutation` at the root.
// Slow (minutes), so not part of CI; the README's Development section has the last score.
import { readFileSync } from 'node:fs';

/**
 * `file:first-last`, the lines of one top-level function, so only that
 * function is mutated and the range follows it when the file changes.
 */
function only(file, name) {
  const lines = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  const first = lines.findIndex((l) => l.startsWith(`export function ${name}(`));
  const last = lines.findIndex((l, i) => i > first && l === '}');
  if (first < 0 || last < 0) throw new Error(`stryker.config.mjs: no function ${name} in ${file}`);
  return `${file}:${first + 1}-${last + 1}`;
}

// The last run (296 mutants): 92.9%. The 21 survivors, none of which a test should kill:
// - equivalent: quiet-hours `start <= end` / `start >= end` (start === end returned before);
//   breaker `trialInFlight = true` at start and in success(), and `openedAt !== null` -> false
//   in failure() (every way into open passes through failure(), which resets the trial, and an
//   open breaker already has failures >= threshold); idempotency's sort comparator mutants (object
//   keys are unique, and V8's sort only asks whether the result is < 0); backoff
//   `retryAfterMs !== undefined` -> true (undefined >= 0 is false); ssrf's ipv6Groups mutants
//   (toUpperCase: parseInt reads hex in any case; the zone and dotted-quad regexes without their
//   `$`, and `includes('')` / `tail === undefined` -> false, give the same groups for valid IPv6)
//   and the hostname bracket regex without anchors (WHATWG puts brackets only at the ends).
// - not caught by the runner: `addSubnet(..., '')` makes the module throw on load, so every test
//   file importing it fails, but @stryker-mutator/vitest-runner 9.6.1 scores a file that fails to
//   load as no failure (stryker-js issue 6150).
// - harmless: `verbatim: false` in the system lookup only reorders the answers, and every answer
//   is checked; which one is pinned first cannot be tested without a resolver we control.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Only the unit tests beside these modules: no PostgreSQL or Redis needed.
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [
    'src/platform/ssrf.ts',
    'src/audience/quiet-hours.ts',
    'src/channels/circuit-breaker.ts',
    'src/notifications/idempotency.ts',
    // The rest of these two files is queue wiring and template rendering, covered by integration tests.
    only('src/platform/queues.ts', 'backoffDelay'),
    only('src/content/engine.ts', 'resolveLocale'),
  ],
  coverageAnalysis: 'perTest',
  // The machine's two cores are shared with other work.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
