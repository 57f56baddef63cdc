import path from 'node:path';
import { parseArgs } from 'node:util';

export const SECTIONS = ['ceilings', 'e2e', 'bulk', 'priority', 'soak'] as const;
export type Section = (typeof SECTIONS)[number];

/** Everything a run can vary; `--quick` shrinks durations and sizes so a run takes a couple of minutes. */
export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  /** Repetitions per figure (the table shows their median and min-max). Full: 3, quick: 1. */
  reps: number;
  /** Seconds each end-to-end rate is held. Full: 30 (the definition of sustained), quick: 5. */
  stepSeconds: number;
  /** The rising ramp: first rate and increment, in requests/s; the last passing rate is then refined by half a step. */
  startRate: number;
  rateStep: number;
  /** Never try above this (a guard against a runaway ramp). */
  maxRate: number;
  /** The second rate the API latency is reported at. */
  latencyRate: number;
  /** Notifications per bulk repetition (1,000 per request). */
  bulkNotifications: number;
  /** Low-priority jobs waiting before the critical notifications are sent. */
  backlog: number;
  criticalRate: number;
  criticalSeconds: number;
  soakSeconds: number;
  soakWarmupSeconds: number;
  /** Soak rate when no sustained rate was measured in this run (e.g. `--only=soak`). */
  soakRate: number | undefined;
  /** Extra environment for the API and worker processes (`--set NAME=value`), e.g. DATABASE_POOL_SIZE=20. */
  serviceEnv: Record<string, string>;
  /** Write a CPU profile of the API and the worker here (node --cpu-prof), one file per process. */
  profileDir: string | undefined;
}

const USAGE = `npm run bench -- [--quick] [--only=e2e,soak] [--reps=N] [--set NAME=value ...] [--soak-rate=N]

  --quick           5 s rate steps, 1 repetition, 20,000-job backlog, 30 s soak (about 3 minutes)
  --only=a,b        run only these sections: ${SECTIONS.join(', ')}
  --reps=N          repetitions per figure (default 3, quick 1)
  --set NAME=value  extra environment for the API and worker (repeatable), e.g. --set IN_APP_CONCURRENCY=200
  --soak-rate=N     soak rate when the e2e section does not run (default: half the sustained rate)
  --profile=DIR     CPU-profile the API and the worker (node --cpu-prof) into DIR; open in Chrome DevTools`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      reps: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'soak-rate': { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const sections =
    values.only === undefined
      ? [...SECTIONS]
      : values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map(section);
  const serviceEnv: Record<string, string> = {};
  for (const pair of values.set) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects NAME=value, got "${pair}"\n${USAGE}`);
    serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    quick,
    sections,
    reps: values.reps === undefined ? (quick ? 1 : 3) : positiveInt(values.reps, '--reps'),
    stepSeconds: quick ? 5 : 30,
    startRate: 1000,
    rateStep: 1000,
    maxRate: 40_000,
    latencyRate: 2000,
    bulkNotifications: quick ? 10_000 : 50_000,
    backlog: quick ? 20_000 : 100_000,
    criticalRate: 20,
    criticalSeconds: quick ? 5 : 15,
    soakSeconds: quick ? 30 : 300,
    soakWarmupSeconds: quick ? 10 : 30,
    soakRate: values['soak-rate'] === undefined ? undefined : positiveInt(values['soak-rate'], '--soak-rate'),
    serviceEnv,
    profileDir: values.profile === undefined ? undefined : path.resolve(values.profile),
  };
}

function section(name: string): Section {
  const found = SECTIONS.find((s) => s === name);
  if (!found) throw new Error(`unknown section "${name}"; sections: ${SECTIONS.join(', ')}\n${USAGE}`);
  return found;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got "${value}"`);
  return n;
}
