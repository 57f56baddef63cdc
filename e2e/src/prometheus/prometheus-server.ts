import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@notify/core/testing';
import { stringify } from 'yaml';
import { freePort } from '../processes.js';

export interface ScrapeJob {
  job: string;
  target: string;
  basicAuth?: { username: string; password: string };
}

export interface PrometheusServer {
  url: string;
  /** GET on its HTTP API (/api/v1/...): the `data` of a success, else throws with Prometheus's error. */
  api<T>(pathAndQuery: string): Promise<T>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Debian's `prometheus` on a free localhost port, with a config written to a
 * temporary folder: every job scraped each second, `rules` loaded and
 * evaluated each second. Its storage goes with the folder on stop().
 */
export async function startPrometheus(o: { jobs: ScrapeJob[]; rules: string[] }): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: o.rules,
    scrape_configs: o.jobs.map((j) => ({
      job_name: j.job,
      ...(j.basicAuth ? { basic_auth: j.basicAuth } : {}),
      static_configs: [{ targets: [j.target] }],
    })),
  };
  writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited:\n${out}`);
        return (
          (await fetch(`${url}/-/ready`).then(
            (r) => r.ok,
            () => false,
          )) || undefined
        );
      },
      30_000,
      'prometheus ready',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    output: () => out,
    stop,
    async api<T>(pathAndQuery: string): Promise<T> {
      const body = (await (await fetch(`${url}${pathAndQuery}`)).json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error}`);
      return body.data;
    },
  };
}
