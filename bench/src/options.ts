import path from 'node:path';
import { parseArgs } from 'node:util';

export const SECTIONS = ['ceilings', 'plans', 'baseline', 'e2e', 'bulk', 'priority', 'soak', 'retention', 'fleet', 'cluster'] as const;
export type Section = (typeof SECTIONS)[number];

/** Everything a run can vary; `--quick` shrinks durations and sizes so a run takes a couple of minutes. */
export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  /** Repetitions per figure (the table shows their median and min-max). Full: 3, quick: 1. */
  reps: number;
  /** Seconds each end-to-end rate is held. Full: 30 (the definition of sustained), quick: 5. */
  stepSeconds: number;
  /** The rising ramp: first rate and increment, in requests/s; the last passing rate is then refined to a quarter of a step. */
  startRate: number;
  rateStep: number;
  /** Never try above this (a guard against a runaway ramp). */
  maxRate: number;
  /** Notifications per bulk repetition (1,000 per request). */
  bulkNotifications: number;
  /** Low-priority jobs waiting before the critical notifications are sent. */
  backlog: number;
  criticalRate: number;
  criticalSeconds: number;
  soakSeconds: number;
  soakWarmupSeconds: number;
  /** Soak and retention rate when no sustained rate was measured in this run (e.g. `--only=soak`). */
  soakRate: number | undefined;
  /** The commit the hot path is compared with (`--baseline=REV`); the baseline section runs only with it. */
  baseline: string | undefined;
  /** Pairs of measurements (HEAD and baseline, order alternating). Full: 5, quick: 3 (or --reps). */
  baselinePairs: number;
  /** The fixed rate CPU per notification is measured at (below the machine's limit, so both codes keep up). */
  baselineRate: number;
  /** Offered rate and seconds of the short overload that gives each code's delivered rate. */
  overloadRate: number;
  overloadSeconds: number;
  /** Old rows seeded for the retention section (each notification has a delivery, an attempt and an inbox item: 4 rows). */
  retentionRows: number;
  /** Seconds of each load window (retention idle, then deleting, alternating until every old row is gone). */
  retentionWindowSeconds: number;
  /** Worker processes of one channel the fleet section measures, each against one process in the same repetition. */
  fleetWorkers: number[];
  /** The fleet's simulated provider latency and concurrency per process (`--set SIMULATED_LATENCY_MS=`, `--set IN_APP_CONCURRENCY=` change them). */
  fleetLatencyMs: number;
  fleetConcurrency: number;
  /** Seconds of work in each fleet backlog at the fleet's ceiling (concurrency × processes / latency). */
  fleetSeconds: number;
  /** Extra environment for the API and worker processes (`--set NAME=value`), e.g. DATABASE_POOL_SIZE=20. */
  serviceEnv: Record<string, string>;
  /** Write a CPU profile of the API and the worker here (node --cpu-prof), one file per process. */
  profileDir: string | undefined;
}

const USAGE = `npm run bench -- [--quick] [--only=e2e,soak] [--reps=N] [--set NAME=value ...] [--soak-rate=N] [--baseline=REV [--baseline-rate=N]]

  --quick           5 s rate steps, 1 repetition, 20,000-job backlog, 30 s soak (about 3 minutes)
  --only=a,b        run only these sections: ${SECTIONS.join(', ')} (baseline only with --baseline)
  --reps=N          repetitions per figure (default 3, quick 1)
  --set NAME=value  extra environment for the API and worker (repeatable), e.g. --set IN_APP_CONCURRENCY=200
  --soak-rate=N     soak and retention rate when the e2e section does not run (default: half the sustained rate)
  --baseline=REV    also compare the hot path's CPU per notification with commit REV, built in a temporary folder
  --baseline-rate=N the rate of that comparison (default 1,000/s; lower shows what a request costs when batches hold one)
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
      baseline: { type: 'string' },
      'baseline-rate': { type: 'string' },
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
      ? SECTIONS.filter((s) => s !== 'baseline' || values.baseline !== undefined)
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
  if (sections.includes('baseline') && values.baseline === undefined) throw new Error(`the baseline section needs --baseline=REV\n${USAGE}`);
  return {
    quick,
    sections,
    reps: values.reps === undefined ? (quick ? 1 : 3) : positiveInt(values.reps, '--reps'),
    stepSeconds: quick ? 5 : 30,
    startRate: 1000,
    rateStep: 1000,
    maxRate: 40_000,
    bulkNotifications: quick ? 10_000 : 50_000,
    backlog: quick ? 20_000 : 100_000,
    criticalRate: 20,
    criticalSeconds: quick ? 5 : 15,
    soakSeconds: quick ? 30 : 600,
    soakWarmupSeconds: quick ? 10 : 30,
    soakRate: values['soak-rate'] === undefined ? undefined : positiveInt(values['soak-rate'], '--soak-rate'),
    baseline: values.baseline,
    baselinePairs: values.reps === undefined ? (quick ? 3 : 5) : positiveInt(values.reps, '--reps'),
    baselineRate: values['baseline-rate'] === undefined ? 1000 : positiveInt(values['baseline-rate'], '--baseline-rate'),
    overloadRate: 3000,
    overloadSeconds: quick ? 5 : 10,
    retentionRows: quick ? 200_000 : 1_000_000,
    retentionWindowSeconds: quick ? 5 : 10,
    fleetWorkers: [1, 2, 4],
    fleetLatencyMs: 50,
    fleetConcurrency: 10,
    fleetSeconds: quick ? 5 : 20,
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
