import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

/** The alert rules, their promtool tests and the Grafana dashboard shipped in deploy/, read as operators load them. */
const root = path.resolve(import.meta.dirname, '../../..');
export const ALERTS = path.join(root, 'deploy/prometheus/alerts.yml');
export const ALERT_TESTS = path.join(root, 'deploy/prometheus/alerts.test.yml');
export const DASHBOARD = path.join(root, 'deploy/grafana/notify.json');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const file = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return file.groups.flatMap((g) => g.rules);
}

export interface PanelQuery {
  panel: string;
  expr: string;
}

export function dashboardQueries(): PanelQuery[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Grafana's range variable, replaced by a window for Prometheus itself. */
export const withWindow = (expr: string, window: string) => expr.replaceAll('$__rate_interval', window);

/** The metric names an expression reads: the service's (notify_*, http_*) and Prometheus's `up`, not label names. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(notify_[a-z0-9_]+|http_[a-z0-9_]+|up)\b(?!\s*[=!]~?)/g)].map((m) => m[1]!))];
}

/** Runs Debian's promtool; its exit code and output, whether it passed or not. */
export async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('promtool', args);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
