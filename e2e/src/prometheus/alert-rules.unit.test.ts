import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERT_TESTS, ALERTS, alertRules, promtool } from './deploy-files.js';

/** deploy/prometheus/alerts.yml checked and unit-tested by Debian's promtool, as README "Alerts and dashboards" tells operators to. */
interface RuleTests {
  tests: { input_series: unknown[]; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}
const ruleTests = () => parse(readFileSync(ALERT_TESTS, 'utf8')) as RuleTests;

const FIELD_ALERTS = [
  'NotifyQueueBacklog',
  'NotifyProviderSuccessLow',
  'NotifyDeadLettersGrowing',
  'NotifyBreakerOpen',
  'NotifyJobsStalled',
  'NotifyApiErrors',
  'NotifyDependencyUnready',
  'NotifyApiDown',
  'NotifyChannelWithoutWorker',
];

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const { code, output } = await promtool('check', 'rules', ALERTS);
    expect(output).toContain(`SUCCESS: ${FIELD_ALERTS.length} rules found`);
    expect(code).toBe(0);
  });

  it('each have a for, a severity, a summary and a runbook', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert)).toEqual(FIELD_ALERTS);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toMatch(/\S/);
      expect(r.annotations?.runbook, r.alert).toMatch(/\w.{40,}/);
    }
  });

  it('each have a promtool test where some series fire it and others do not', () => {
    for (const alert of FIELD_ALERTS) {
      const cases = ruleTests().tests.flatMap((t) =>
        t.alert_rule_test.filter((c) => c.alertname === alert).map((c) => ({ series: t.input_series.length, fired: c.exp_alerts.length })),
      );
      expect(cases.some((c) => c.fired > 0 && c.series > c.fired) || (cases.some((c) => c.fired > 0) && cases.some((c) => c.fired === 0)), alert).toBe(true);
    }
  });

  // The backlog test evaluates a day of one-minute samples: seconds on an idle machine, more under CI's load.
  it('pass promtool test rules', { timeout: 180_000 }, async () => {
    const { code, output } = await promtool('test', 'rules', ALERT_TESTS);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('fail promtool test rules when an alert that fires is expected not to', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alerts-'));
    try {
      copyFileSync(ALERTS, path.join(dir, 'alerts.yml'));
      const tests = ruleTests();
      const backlog = tests.tests[0]!.alert_rule_test[0]!;
      expect(backlog.alertname).toBe('NotifyQueueBacklog');
      backlog.exp_alerts = [];
      // Only the group with the changed expectation: the others are the test above's.
      tests.tests = [tests.tests[0]!];
      writeFileSync(path.join(dir, 'alerts.test.yml'), stringify(tests));
      const { code, output } = await promtool('test', 'rules', path.join(dir, 'alerts.test.yml'));
      expect(output).toMatch(/FAILED:[\s\S]*NotifyQueueBacklog/);
      expect(code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
