import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BaselineResult, CodeStep, CpuPerNotification } from './baseline.js';
import type { BulkRep } from './bulk.js';
import type { Ceilings, QueueCeiling } from './ceilings.js';
import type { PlanCost } from './plan-cost.js';
import { CLUSTER_MASTERS, type ClusterResult, type RedisKind } from './cluster.js';
import { cpuPerNotification, type E2eResult, type StepResult } from './e2e-rate.js';
import type { FleetResult } from './fleet.js';
import type { Repeated } from './repetitions.js';
import { SECTIONS, type BenchOptions, type Section } from './options.js';
import type { PriorityRep } from './priority.js';
import type { RetentionRun, RetentionWindow } from './retention.js';
import type { SoakResult } from './soak.js';
import { round, summarize, type Summary } from './stats.js';

/** One line of the table: a figure, the median of its repetitions with their spread, and what to compare it with. */
export interface Row {
  section: Section;
  figure: string;
  unit: string;
  /** Median over the repetitions; null when it could not be measured (the note says why). */
  value: number | null;
  min: number | null;
  max: number | null;
  reps: number;
  ceiling: number | null;
  ceilingName: string | null;
  /** value / ceiling. */
  ratio: number | null;
  target: string | null;
  /** Whether the target is met; null without a target or a value. */
  met: boolean | null;
  note: string;
}

/** What each section produced, or why it did not. */
export interface SectionResults {
  ceilings?: Ceilings[] | Error;
  plans?: PlanCost[] | Error;
  e2e?: E2eResult | Error;
  bulk?: Repeated<BulkRep> | Error;
  priority?: Repeated<PriorityRep> | Error;
  soak?: Repeated<SoakResult> | Error;
  baseline?: BaselineResult | Error;
  retention?: Repeated<RetentionRun> | Error;
  fleet?: FleetResult | Error;
  cluster?: ClusterResult | Error;
}

/** The BullMQ ceilings the service's rates are judged against: its own job options, producer and worker in separate processes. */
const CEILINGS = {
  addProcess: { name: 'BullMQ add+process, service options', of: (c: Ceilings) => c.addProcess.service.jobsPerSecond },
  addBulk: { name: 'BullMQ addBulk+process, service options', of: (c: Ceilings) => c.addBulkProcess.service.jobsPerSecond },
  addProcessDefaults: { name: 'BullMQ add+process, defaults', of: (c: Ceilings) => c.addProcess.defaults.jobsPerSecond },
  addBulkDefaults: { name: 'BullMQ addBulk+process, defaults', of: (c: Ceilings) => c.addBulkProcess.defaults.jobsPerSecond },
} as const;

export function buildRows(o: BenchOptions, r: SectionResults): Row[] {
  const rows: Row[] = [];
  const ceilings = r.ceilings instanceof Error || r.ceilings === undefined ? null : r.ceilings;
  const ceiling = (k: keyof typeof CEILINGS) => (ceilings ? (summarize(ceilings.map(CEILINGS[k].of))?.median ?? null) : null);
  const missingCeiling = r.ceilings === undefined ? 'ceilings not measured in this run' : r.ceilings instanceof Error ? 'ceilings failed' : '';
  /** The figure's share of the other style's ceiling, for the note. */
  const alsoOf = (value: number | null | undefined, k: keyof typeof CEILINGS) => {
    const c = ceiling(k);
    return value && c ? `${round((value / c) * 100, 1)} % of ${round(c, 0)} jobs/s (${CEILINGS[k].name})` : '';
  };

  if (o.sections.includes('ceilings')) {
    const styles = {
      service: "the service's job options (its job id, priority, 4 attempts, its backoff, its removeOnComplete)",
      defaults: "BullMQ's defaults (its own ids, no priority, removeOnComplete: true)",
    } as const;
    const queueDefs: [(c: Ceilings) => Record<'service' | 'defaults', QueueCeiling>, string][] = [
      [(c) => c.addProcess, 'BullMQ add + no-op worker, separate processes (64 adds in flight, concurrency 200)'],
      [(c) => c.addBulkProcess, 'BullMQ addBulk of 1,000 + no-op worker, separate processes (concurrency 200)'],
    ];
    for (const [pick, figure] of queueDefs) {
      for (const style of ['service', 'defaults'] as const) {
        const name = `${figure}, ${style === 'service' ? "service's job options" : 'BullMQ defaults'}`;
        if (!ceilings) {
          rows.push(failed('ceilings', name, 'jobs/s', r.ceilings instanceof Error ? r.ceilings : undefined));
          continue;
        }
        const q = ceilings.map((c) => pick(c)[style]);
        const cpu = (part: keyof QueueCeiling['cpuUsPerJob']) => round(summarize(q.map((x) => x.cpuUsPerJob[part]))?.median ?? NaN, 0);
        rows.push(
          row('ceilings', name, 'jobs/s', summarize(q.map((x) => x.jobsPerSecond)), {
            note: `first add to last completion; ${styles[style]}; CPU per job ${cpu('total')} µs: producer ${cpu('producer')}, worker ${cpu('worker')}, Redis ${cpu('redis')}`,
          }),
        );
      }
    }
    const shape = 'into a copy of the notifications table (same columns and indexes)';
    const pgDefs: ['pgSingle' | 'pgBatch', string, string][] = [
      ['pgSingle', 'pg single-row INSERT (32 in flight)', `one commit per row, ${shape}`],
      ['pgBatch', 'pg 1,000-row INSERT ... unnest', `one statement at a time, ${shape}`],
    ];
    for (const [k, figure, note] of pgDefs) {
      rows.push(
        ceilings
          ? row('ceilings', figure, 'rows/s', summarize(ceilings.map((c) => c[k])), { note })
          : failed('ceilings', figure, 'rows/s', r.ceilings instanceof Error ? r.ceilings : undefined),
      );
    }
    for (const p of ['p50', 'p99'] as const) {
      const figure = `pg single-row INSERT one at a time: latency ${p}`;
      rows.push(
        ceilings
          ? row('ceilings', figure, 'ms', summarize(ceilings.map((c) => c.pgInsertMs[p])), {
              note: `insert and commit on one connection, ${shape}: what a request to an idle API waits for at least`,
            })
          : failed('ceilings', figure, 'ms', r.ceilings instanceof Error ? r.ceilings : undefined),
      );
    }
  }

  if (o.sections.includes('plans')) {
    const notes = {
      'as sent': "as the service sends it: a call of the function whose plan the session keeps (planning is the call's; execution includes the statement)",
      unnamed: 'the same statement sent unnamed, planned at every call (as before the functions), for comparison',
    } as const;
    for (const statement of ['claim_deliveries', 'finish_deliveries'] as const) {
      for (const variant of ['as sent', 'unnamed'] as const) {
        for (const [part, key] of [
          ['planning', 'planningMs'],
          ['execution', 'executionMs'],
        ] as const) {
          const figure = `The worker's ${statement} for one delivery, ${variant}: ${part}`;
          const cost = r.plans instanceof Error || r.plans === undefined ? undefined : r.plans.find((p) => p.statement === statement && p.variant === variant);
          rows.push(
            cost
              ? row('plans', figure, 'µs', one(cost[key] * 1000), { note: `EXPLAIN (ANALYZE, SUMMARY), median of 25; ${notes[variant]}` })
              : failed('plans', figure, 'µs', r.plans instanceof Error ? r.plans : undefined),
          );
        }
      }
    }
  }

  if (o.sections.includes('baseline')) rows.push(...baselineRows(o, r.baseline));

  if (o.sections.includes('e2e')) {
    const e = r.e2e;
    const figure = `Sustained POST /notifications (${o.stepSeconds} s, no errors, accept-to-delivered p99 < 1 s)`;
    if (e instanceof Error || e === undefined || e.reps.length === 0) {
      const why = e instanceof Error || e === undefined ? e : new Error(e.failures.join('; '));
      for (const f of [figure, 'API latency p50 / p99', 'accept-to-delivered p50 / p99']) rows.push(failed('e2e', f, '', why));
    } else {
      const failures = e.failures.join('; ');
      const c = ceiling('addProcess');
      const sustained = summarize(e.reps.map((rep) => rep.sustained ?? 0));
      rows.push(
        row('e2e', figure, 'notifications/s', sustained, {
          ceiling: c,
          ceilingName: CEILINGS.addProcess.name,
          target: '>= 40 % of ceiling',
          met: (_v, ratio) => ratio !== null && ratio >= 0.4,
          note: join(
            e.reps.some((rep) => rep.sustained === null) ? 'no rate passed in some repetition (counted as 0)' : '',
            c === null ? missingCeiling : alsoOf(sustained?.median, 'addProcessDefaults'),
            firstFailure(e),
            failures,
          ),
        }),
      );
      const at = e.reps.flatMap((rep) => (rep.atSustained ? [rep.atSustained] : []));
      const rateNote = at.length ? `at ${at.map((s) => s.rate).join(', ')}/s` : 'no sustained rate';
      rows.push(
        row(
          'e2e',
          'API latency p50 at the sustained rate',
          'ms',
          stepSummary(at, (s) => s.load.latencyMs?.p50),
          { note: rateNote },
        ),
      );
      rows.push(
        row(
          'e2e',
          'API latency p99 at the sustained rate',
          'ms',
          stepSummary(at, (s) => s.load.latencyMs?.p99),
          { note: rateNote },
        ),
      );
      rows.push(
        row(
          'e2e',
          'Accept-to-delivered p50 at the sustained rate',
          'ms',
          stepSummary(at, (s) => s.delivery.p50Ms),
          { note: rateNote },
        ),
      );
      rows.push(
        row(
          'e2e',
          'Accept-to-delivered p99 at the sustained rate',
          'ms',
          stepSummary(at, (s) => s.delivery.p99Ms),
          {
            target: '< 1,000 ms',
            met: (v) => v < 1000,
            note: rateNote,
          },
        ),
      );
      // Where the time goes at the sustained rate, beside the ratio that judges it.
      const cpuParts = [
        ['api', 'API'],
        ['worker', 'worker'],
        ['pg', "PostgreSQL (the service's sessions)"],
        ['redis', 'Redis'],
        ['load', 'load generator'],
        ['total', 'total'],
      ] as const;
      const raw = ceilings ? summarize(ceilings.map((x) => x.addProcess.service.cpuUsPerJob.total))?.median : undefined;
      for (const [part, name] of cpuParts) {
        const v = stepSummary(at, (s) => cpuPerNotification(s)[part] / 1000);
        rows.push(
          row('e2e', `CPU per notification at the sustained rate: ${name}`, 'ms CPU', v, {
            note: join(
              rateNote,
              part === 'total' && raw && v
                ? `${round((v.median * 1000) / raw, 2)}x the ${round(raw, 0)} µs of one raw BullMQ job with the service's options (producer, worker, Redis; target <= 2.5x)`
                : '',
            ),
          }),
        );
      }
      const below: ['atThird' | 'atHalf', string, number][] = [
        ['atThird', 'a third of', 15],
        ['atHalf', 'half', 25],
      ];
      for (const [k, share, limit] of below) {
        const steps = e.reps.flatMap((rep) => (rep[k] ? [rep[k]] : []));
        const failedSteps = steps.filter((s) => !s.pass);
        const note = join(
          steps.length ? `at ${steps.map((s) => s.rate).join(', ')}/s` : 'no sustained rate',
          failedSteps.length ? `not sustained in ${failedSteps.length} of ${steps.length} (${failedSteps[0]!.reasons[0]})` : '',
        );
        for (const [p, pick] of [
          ['p50', (s: StepResult) => s.load.latencyMs?.p50],
          ['p99', (s: StepResult) => s.load.latencyMs?.p99],
        ] as const) {
          rows.push(
            row('e2e', `API latency ${p} at ${share} the sustained rate`, 'ms', stepSummary(steps, pick), {
              ...(p === 'p99' ? { target: `< ${limit} ms`, met: (v: number) => v < limit && failedSteps.length === 0 } : {}),
              note,
            }),
          );
        }
      }
    }
  }

  if (o.sections.includes('bulk')) {
    const b = r.bulk;
    const figure = 'Bulk: deliveries/s through POST /notifications/bulk (1,000 per request)';
    if (b instanceof Error || b === undefined || b.reps.length === 0) rows.push(failed('bulk', figure, 'deliveries/s', orFailures(b)));
    else {
      const c = ceiling('addBulk');
      const refused = b.reps.reduce((n, rep) => n + rep.refused.length, 0);
      rows.push(
        row('bulk', figure, 'deliveries/s', summarize(b.reps.map((rep) => rep.deliveriesPerSecond)), {
          ceiling: c,
          ceilingName: CEILINGS.addBulk.name,
          target: '>= 40 % of ceiling',
          met: (_v, ratio) => ratio !== null && ratio >= 0.4 && refused === 0,
          note: join(
            `${b.reps[0]?.notifications ?? 0} notifications, first request to last delivery`,
            refused ? `${refused} requests refused` : '',
            c === null ? missingCeiling : '',
            b.failures.join('; '),
          ),
        }),
      );
      rows.push(
        row('bulk', 'Bulk: notifications accepted/s by the API', 'notifications/s', summarize(b.reps.map((rep) => rep.acceptedPerSecond)), {
          note: `2 requests in flight; p50 ${round(summarize(b.reps.map((rep) => rep.requestMsP50))?.median ?? NaN, 0)} ms per request`,
        }),
      );
    }
  }

  if (o.sections.includes('priority')) {
    const p = r.priority;
    const name = `Critical at ${o.criticalRate}/s behind ${o.backlog.toLocaleString('en-US')} low-priority jobs: accept-to-delivered`;
    if (p instanceof Error || p === undefined || p.reps.length === 0) rows.push(failed('priority', `${name} p99`, 'ms', orFailures(p)));
    else {
      const drained = p.reps.filter((rep) => rep.backlogAtEnd === 0).length;
      const note = join(
        `${p.reps[0]?.critical ?? 0} critical per repetition; low-priority still waiting at the end: ${p.reps.map((rep) => rep.backlogAtEnd).join(', ')}`,
        drained ? `backlog ran out before the end in ${drained} repetition(s): the figure is not behind a full backlog` : '',
        p.reps.some((rep) => rep.refused.length) ? `refused: ${p.reps.flatMap((rep) => rep.refused)[0]}` : '',
        p.failures.join('; '),
      );
      const pick = (f: (rep: PriorityRep) => number | null) =>
        summarize(
          p.reps.flatMap((rep) => {
            const v = f(rep);
            return v === null ? [] : [v];
          }),
        );
      rows.push(
        row(
          'priority',
          `${name} p50`,
          'ms',
          pick((rep) => rep.delivery.p50Ms),
          { note },
        ),
      );
      rows.push(
        row(
          'priority',
          `${name} p99`,
          'ms',
          pick((rep) => rep.delivery.p99Ms),
          // In every repetition: the median could hide one that missed.
          { target: '< 50 ms in every repetition', met: () => (pick((rep) => rep.delivery.p99Ms)?.max ?? Number.POSITIVE_INFINITY) < 50, note },
        ),
      );
    }
  }

  if (o.sections.includes('soak')) {
    const title = `Soak (${o.soakSeconds >= 60 ? `${o.soakSeconds / 60} min` : `${o.soakSeconds} s`} at half the sustained rate)`;
    const s = r.soak instanceof Error || r.soak === undefined ? undefined : r.soak.reps[0];
    if (!s) rows.push(failed('soak', title, '', orFailures(r.soak)));
    else {
      // A heap's sawtooth makes any single reading noisy: compare the medians of the first and last windows.
      const window = Math.max(3, Math.ceil(s.samples.length / 10));
      const windowMedian = (part: SoakResult['samples'], pick: (m: SoakResult['samples'][number]) => number | null) =>
        summarize(part.map(pick).filter((x): x is number => x !== null))?.median ?? null;
      const failures = r.soak instanceof Error || r.soak === undefined ? '' : r.soak.failures.join('; ');
      rows.push(
        row('soak', `${title}: accept-to-delivered p99`, 'ms', one(s.delivery.p99Ms), {
          target: '< 1,000 ms',
          met: (v) => v < 1000,
          note: join(
            `${s.rate}/s (${s.rateSource}), achieved ${round(s.load.achievedRate, 0)}/s, ${s.load.non2xx} non-2xx, ${s.load.errors} errors, API p99 ${round(s.load.latencyMs?.p99 ?? NaN)} ms; single run`,
            failures,
          ),
        }),
      );
      const memory: [string, (m: SoakResult['samples'][number]) => number | null][] = [
        ['API RSS', (m) => m.apiRss],
        ['worker RSS', (m) => m.workerRss],
        ['Redis used_memory', (m) => m.redisUsedMemory],
      ];
      for (const [what, pick] of memory) {
        const a = windowMedian(s.samples.slice(0, window), pick);
        const b = windowMedian(s.samples.slice(-window), pick);
        const all = s.samples.map(pick).filter((x): x is number => x !== null);
        rows.push(
          row('soak', `${title}: ${what} growth after warm-up`, '%', one(a && b ? ((b - a) / a) * 100 : null), {
            target: '<= 10 %',
            met: (v) => v <= 10,
            note: `${mb(a)} -> ${mb(b)} (medians of the first and last ${window * s.sampleSeconds} s); range ${mb(Math.min(...all))}-${mb(Math.max(...all))}`,
          }),
        );
      }
      const total = (t: Record<string, number>) => Object.values(t).reduce((x, y) => x + y, 0);
      const minutes = s.seconds / 60;
      rows.push(
        row('soak', `${title}: PostgreSQL tables (the record; grows by design)`, 'MB/min', one((total(s.end.tables) - total(s.start.tables)) / 2 ** 20 / minutes), {
          note: `${mb(total(s.start.tables))} -> ${mb(total(s.end.tables))}; notifications ${mb(s.start.tables.notifications ?? null)} -> ${mb(s.end.tables.notifications ?? null)}, deliveries ${mb(s.start.tables.deliveries ?? null)} -> ${mb(s.end.tables.deliveries ?? null)}`,
        }),
      );
    }
  }
  if (o.sections.includes('retention')) rows.push(...retentionRows(o, r.retention));
  if (o.sections.includes('fleet')) rows.push(...fleetRows(o, r.fleet));
  if (o.sections.includes('cluster')) rows.push(...clusterRows(o, r.cluster));
  return rows;
}

/** The sustained rate and its CPU per notification on a Redis Cluster, against single-node Redis measured alternately in the same run. */
function clusterRows(o: BenchOptions, r: ClusterResult | Error | undefined): Row[] {
  const name: Record<RedisKind, string> = { single: 'single-node Redis', cluster: `${CLUSTER_MASTERS}-master Redis Cluster` };
  const sustained = (k: RedisKind) => `Sustained POST /notifications (${o.stepSeconds} s), ${name[k]}`;
  const parts = [
    ['service', 'total (API + worker + PostgreSQL + Redis)'],
    ['pg', "PostgreSQL (the service's sessions)"],
    ['redis', 'Redis (the servers it used)'],
  ] as const;
  const cpu = (k: RedisKind, part: string) => `CPU per notification at the sustained rate, ${name[k]}: ${part}`;
  const kinds: RedisKind[] = ['single', 'cluster'];
  if (r instanceof Error || r === undefined || r.reps.length === 0) {
    const why = r instanceof Error || r === undefined ? r : new Error(r.failures.join('; ') || 'no repetition completed');
    return kinds.flatMap((k) => [sustained(k), ...parts.map(([, p]) => cpu(k, p))]).map((f) => failed('cluster', f, '', why));
  }
  const reps = (k: RedisKind) => r.reps.filter((x) => x.redis === k);
  const rates = (k: RedisKind) => summarize(reps(k).map((x) => x.ramp.sustained ?? 0));
  const atSustained = (k: RedisKind) => reps(k).flatMap((x) => (x.ramp.atSustained ? [x.ramp.atSustained] : []));
  const paired: number[] = [];
  for (const c of reps('cluster')) {
    const s = reps('single').find((x) => x.rep === c.rep)?.ramp.sustained;
    if (s && c.ramp.sustained !== null) paired.push(c.ramp.sustained / s);
  }
  const p = summarize(paired);
  const pairNote = p ? `cluster / single within each repetition: median ${round(p.median * 100, 1)} % (${round(p.min * 100, 1)}-${round(p.max * 100, 1)}) of ${p.n}` : '';
  const single = rates('single')?.median ?? null;
  const rows: Row[] = [];
  for (const k of kinds) {
    const at = atSustained(k);
    const fails = reps(k)[0]
      ?.ramp.steps.filter((s) => !s.pass && s.rate > (reps(k)[0]?.ramp.sustained ?? 0))
      .sort((a, b) => a.rate - b.rate)[0];
    rows.push(
      row('cluster', sustained(k), 'notifications/s', rates(k), {
        ...(k === 'cluster' ? { ceiling: single, ceilingName: 'single-node Redis, same run' } : {}),
        note: join(
          k === 'cluster' ? `${r.nodes}; ${pairNote}` : 'a redis-server of its own (cluster mode off); repetitions alternate which Redis goes first',
          fails ? `${fails.rate}/s failed: ${fails.reasons.join('; ')}` : '',
          k === 'single' ? r.failures.join('; ') : '',
        ),
      }),
    );
    const singleCpu = (part: (typeof parts)[number][0]) => stepSummary(atSustained('single'), (s) => cpuPerNotification(s)[part])?.median ?? null;
    for (const [part, partName] of parts) {
      rows.push(
        row(
          'cluster',
          cpu(k, partName),
          'µs',
          stepSummary(at, (s) => cpuPerNotification(s)[part]),
          {
            ...(k === 'cluster' ? { ceiling: singleCpu(part), ceilingName: 'single-node Redis' } : {}),
            note: join(
              at.length ? `at ${at.map((s) => s.rate).join(', ')}/s, over the ${o.stepSeconds} s of load` : 'no sustained rate',
              part === 'service' ? `API ${med(at, (s) => cpuPerNotification(s).api)}, worker ${med(at, (s) => cpuPerNotification(s).worker)} µs` : '',
            ),
          },
        ),
      );
    }
  }
  return rows;
}

const med = (steps: StepResult[], pick: (s: StepResult) => number) => round(stepSummary(steps, pick)?.median ?? Number.NaN, 0);

/** Deliveries/s of 1, 2, 4 worker processes against what they could do while only waiting, and each count against one process in the same repetition. */
function fleetRows(o: BenchOptions, r: FleetResult | Error | undefined): Row[] {
  const counts = [...o.fleetWorkers].sort((x, y) => x - y);
  const base = counts[0]!;
  const processes = (n: number) => `${n} worker process${n === 1 ? '' : 'es'}`;
  const figure = (n: number) => `Fleet: deliveries/s, ${processes(n)} of one channel`;
  const scaling = (n: number) => `Fleet: ${processes(n)} against ${base}, same repetition`;
  const all = counts.flatMap((n) => [figure(n), ...(n === base ? [] : [scaling(n)])]);
  if (r instanceof Error || r === undefined || r.measurements.length === 0) {
    const why = r instanceof Error || r === undefined ? r : new Error(r.failures.join('; ') || 'no measurement completed');
    return all.map((f) => failed('fleet', f, '', why));
  }
  const at = (n: number) => r.measurements.filter((m) => m.workers === n);
  const rate = (n: number, rep: number) => at(n).find((m) => m.rep === rep)?.deliveriesPerSecond ?? null;
  const setup = `in-app through the simulated provider (${r.latencyMs} ms per send), concurrency ${r.concurrency} per process`;
  const rows: Row[] = [];
  for (const n of counts) {
    const ms = at(n);
    const machine = summarize(ms.map((m) => m.cpu.machine));
    const workerCpu = summarize(ms.map((m) => m.cpu.worker));
    const trouble = ms.filter((m) => m.failed > 0 || m.refused.length > 0);
    rows.push(
      row('fleet', figure(n), 'deliveries/s', summarize(ms.flatMap((m) => (m.deliveriesPerSecond === null ? [] : [m.deliveriesPerSecond]))), {
        ceiling: ms[0]?.ceiling ?? (r.concurrency * n * 1000) / r.latencyMs,
        ceilingName: 'concurrency × processes / latency',
        note: join(
          n === base ? setup : '',
          `backlogs of ${ms[0]?.notifications ?? '-'} sent through the bulk endpoint; middle 80 % of the deliveries`,
          `CPU (medians, % of a core): workers ${workerCpu?.median ?? '-'}, machine ${machine?.median ?? '-'}`,
          trouble.length ? `failed deliveries or refused requests in rep ${trouble.map((m) => m.rep).join(', ')}` : '',
          n === base ? r.failures.join('; ') : '',
        ),
      }),
    );
    if (n === base) continue;
    const ratios: number[] = [];
    for (let rep = 1; rep <= o.reps; rep++) {
      const [x, one] = [rate(n, rep), rate(base, rep)];
      if (x !== null && one) ratios.push((x / one) * 100);
    }
    rows.push(
      row('fleet', scaling(n), '%', summarize(ratios), {
        ceiling: (n / base) * 100,
        ceilingName: 'linear',
        target: '>= 85 % of linear',
        met: (_v, ratio) => ratio !== null && ratio >= 0.85,
        note: `deliveries/s of ${n} over those of ${base} within each repetition, median of the ratios`,
      }),
    );
  }
  return rows;
}

/** HEAD against the baseline commit: the baseline's median is the row's ceiling, the ratio HEAD's share of it. */
function baselineRows(o: BenchOptions, r: BaselineResult | Error | undefined): Row[] {
  const rate = o.baselineRate.toLocaleString('en-US');
  const parts: [keyof CpuPerNotification, string][] = [
    ['api', 'API'],
    ['worker', 'worker'],
    ['pg', "PostgreSQL (the service's sessions)"],
    ['total', 'total (API + worker + PostgreSQL)'],
  ];
  const figure = (part: string) => `Hot path CPU per notification at ${rate}/s: ${part}`;
  const overload = `Delivered/s offered ${o.overloadRate.toLocaleString('en-US')}/s for ${o.overloadSeconds} s`;
  if (r instanceof Error || r === undefined || r.steps.length === 0) {
    const why = r instanceof Error || r === undefined ? r : new Error(r.failures.join('; ') || 'no measurement completed');
    return [...parts.map(([, name]) => failed('baseline', figure(name), 'µs', why)), failed('baseline', overload, 'notifications/s', why)];
  }
  const base = `baseline ${r.baseline.commit.slice(0, 7)}`;
  const of = (code: CodeStep['code'], pick: (s: CodeStep) => number | null) =>
    summarize(
      r.steps
        .filter((s) => s.code === code)
        .flatMap((s) => {
          const v = pick(s);
          return v === null || Number.isNaN(v) ? [] : [v];
        }),
    );
  const medians = (pick: (s: CodeStep) => number | null) => `HEAD ${round(of('HEAD', pick)?.median ?? NaN, 0)}, baseline ${round(of('baseline', pick)?.median ?? NaN, 0)}`;
  /** Each pair's HEAD / baseline: steadier than the ratio of the medians when the machine's speed drifts. */
  const paired = (pick: (s: CodeStep) => number | null) => {
    const ratios: number[] = [];
    for (let pair = 1; pair <= o.baselinePairs; pair++) {
      const [h, b] = (['HEAD', 'baseline'] as const).map((code) => r.steps.find((s) => s.code === code && s.pair === pair));
      const hv = h ? pick(h) : null;
      const bv = b ? pick(b) : null;
      if (hv !== null && bv) ratios.push(hv / bv);
    }
    const p = summarize(ratios);
    return p ? `ratio within each pair: median ${round(p.median * 100, 1)} % (${round(p.min * 100, 1)}-${round(p.max * 100, 1)}) of ${p.n}` : '';
  };
  const compared = (name: string, unit: string, pick: (s: CodeStep) => number | null, extra: Parameters<typeof row>[4] = {}) =>
    row('baseline', name, unit, of('HEAD', pick), { ceiling: of('baseline', pick)?.median ?? null, ceilingName: base, ...extra, note: join(paired(pick), extra.note ?? '') });
  const trouble = r.steps.filter((s) => s.load.non2xx + s.load.errors + s.unfinished + s.failed > 0 || s.load.achievedRate < 0.97 * o.baselineRate);
  const total = join(
    `Redis (shared with everyone, not in the total): ${medians((s) => s.cpu.redis)} µs`,
    `${o.baselinePairs} pairs of ${o.stepSeconds} s, alternating order, from the start of the load to the last delivery; HEAD ${r.head.commit.slice(0, 7)}`,
    trouble.length ? `errors or short of the rate in ${trouble.map((s) => `${s.code} pair ${s.pair}`).join(', ')}` : '',
    r.failures.join('; '),
  );
  return [
    ...parts.map(([part, name]) =>
      compared(figure(name), 'µs', (s) => s.cpu[part], part === 'total' ? { target: '<= 110 % of baseline', met: (_v, ratio) => ratio !== null && ratio <= 1.1, note: total } : {}),
    ),
    compared(overload, 'notifications/s', (s) => s.throughput, { note: `first accept to last delivery; accepted/s ${medians((s) => s.throughputAccepted)}` }),
  ];
}

/** API p99 while old rows are removed, against windows with the job idle in the same run. */
function retentionRows(o: BenchOptions, r: Repeated<RetentionRun> | Error | undefined): Row[] {
  const rows = o.retentionRows.toLocaleString('en-US');
  const p99 = `Retention: API p99 while removing ${rows} old rows`;
  const all = `Retention: time to remove all ${rows} old rows under load`;
  const run = r instanceof Error || r === undefined ? undefined : r.reps[0];
  if (!run) return [failed('retention', p99, 'ms', orFailures(r)), failed('retention', all, 's', orFailures(r))];
  const windows = (kind: 'idle' | 'deleting') => run.windows.filter((w) => w.kind === kind);
  const p99s = (ws: RetentionWindow[]) => ws.flatMap((w) => (w.load.latencyMs ? [w.load.latencyMs.p99] : []));
  // A window in which the job ran out of rows was partly idle: left out while there are others.
  const full = windows('deleting').filter((w) => !w.ranOut);
  const deleting = full.length > 0 ? full : windows('deleting');
  const removed = summarize(deleting.map((w) => w.rowsRemoved));
  const errors = run.windows.reduce((n, w) => n + w.load.non2xx + w.load.errors, 0);
  const s = run.settings;
  const note = join(
    `${run.rate}/s (${run.rateSource}) in ${o.retentionWindowSeconds} s windows, ${windows('idle').length} idle and ${deleting.length} deleting, alternating until all were removed`,
    `rows removed per deleting window: median ${removed ? Math.round(removed.median) : '-'} (${removed ? `${removed.min}-${removed.max}` : '-'})`,
    deleting.length < windows('deleting').length ? 'the last deleting window, where the job ran out of rows, left out' : '',
    errors ? `${errors} non-2xx or errors` : '',
    `the worker's retention (batches of ${s.batchSize}, at least ${s.pauseMs} ms apart and ${s.dutyPercent}% of the time, ${s.budgetMs} ms per run), run back to back`,
    r instanceof Error || r === undefined ? '' : r.failures.join('; '),
  );
  return [
    row('retention', p99, 'ms', summarize(p99s(deleting)), {
      ceiling: summarize(p99s(windows('idle')))?.median ?? null,
      ceilingName: 'retention idle',
      target: '<= 120 % of idle',
      met: (_v, ratio) => ratio !== null && ratio <= 1.2,
      note,
    }),
    row('retention', all, 's', one(run.removeAllSeconds), {
      note: join(
        `${run.notifications.toLocaleString('en-US')} notifications, each with a delivery, an attempt and an inbox item; seeded in ${round(run.seedSeconds, 0)} s`,
        run.removeAllSeconds ? `${Math.round(run.rows / run.removeAllSeconds).toLocaleString('en-US')} rows/s` : `${run.rowsLeft} rows left`,
        'time the job spent deleting; single run',
      ),
    }),
  ];
}

const join = (...parts: string[]) => parts.filter(Boolean).join('; ');

/** The error to show for a section that produced no repetition. */
function orFailures(r: Repeated<unknown> | Error | undefined): Error | undefined {
  return r === undefined || r instanceof Error ? r : new Error(r.failures.join('; ') || 'no repetition completed');
}

const mb = (bytes: number | null) => (bytes === null ? '-' : `${round(bytes / 2 ** 20)} MB`);

function one(v: number | null | undefined): Summary | null {
  return v === null || v === undefined || Number.isNaN(v) ? null : { median: v, min: v, max: v, n: 1 };
}

function stepSummary(steps: StepResult[], pick: (s: StepResult) => number | null | undefined): Summary | null {
  return summarize(
    steps.flatMap((s) => {
      const v = pick(s);
      return v === null || v === undefined ? [] : [v];
    }),
  );
}

/** What stopped repetition 1's ramp: the first thing the optimiser wants to know. */
function firstFailure(e: E2eResult): string {
  const rep = e.reps[0];
  if (!rep) return '';
  const best = rep.sustained ?? 0;
  const fail = rep.steps.filter((s) => !s.pass && s.rate > best).sort((a, b) => a.rate - b.rate)[0];
  return fail ? `${fail.rate}/s failed: ${fail.reasons.join('; ')}` : '';
}

function row(
  section: Section,
  figure: string,
  unit: string,
  s: Summary | null,
  extra: {
    ceiling?: number | null;
    ceilingName?: string;
    target?: string;
    met?: (value: number, ratio: number | null) => boolean;
    note?: string;
  } = {},
): Row {
  const ceiling = extra.ceiling ?? null;
  const ratio = s && ceiling ? s.median / ceiling : null;
  return {
    section,
    figure,
    unit,
    value: s?.median ?? null,
    min: s?.min ?? null,
    max: s?.max ?? null,
    reps: s?.n ?? 0,
    ceiling,
    ceilingName: extra.ceilingName ?? null,
    ratio,
    target: extra.target ?? null,
    met: s && extra.met ? extra.met(s.median, ratio) : null,
    note: s ? (extra.note ?? '') : ['not measured', extra.note].filter(Boolean).join(': '),
  };
}

function failed(section: Section, figure: string, unit: string, err: Error | undefined): Row {
  return { ...row(section, figure, unit, null), note: err ? `could not run: ${err.message.split('\n')[0]}` : 'not run' };
}

function fmt(v: number | null, unit: string): string {
  if (v === null || Number.isNaN(v)) return '-';
  // `|| 0` turns -0 (a tiny negative growth rounded) into 0.
  if (unit === 'ms CPU') return (round(v, 3) || 0).toLocaleString('en-US');
  if (unit === 'ms' || unit === '%' || unit === 'MB/min') return (round(v, 1) || 0).toLocaleString('en-US');
  return (Math.round(v) || 0).toLocaleString('en-US');
}

/** The table as Markdown: readable in a terminal, and pasted as is into the README. */
export function formatTable(rows: Row[]): string {
  const header = ['figure', 'value', 'min-max', 'ceiling', 'ratio', 'target', 'met', 'note'];
  const lines = rows.map((r) => [
    r.figure,
    r.value === null ? '-' : `${fmt(r.value, r.unit)} ${r.unit}`,
    r.reps > 1 ? `${fmt(r.min, r.unit)}-${fmt(r.max, r.unit)}` : '',
    r.ceiling === null ? '' : `${fmt(r.ceiling, r.unit)} (${r.ceilingName})`,
    r.ratio === null ? '' : `${round(r.ratio * 100, 1)} %`,
    r.target ?? '',
    r.met === null ? '' : r.met ? 'yes' : 'NO',
    r.note.replaceAll('|', '/'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtLine = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 1 && i <= 4 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [fmtLine(header), rule, ...lines.map(fmtLine)].join('\n');
}

/**
 * Writes results/<timestamp>[-quick][-only-...].json; a full run of every
 * section also becomes results/latest.json (the one to commit and show in
 * the README), so a quick or partial run never replaces it.
 */
export function writeResults(o: BenchOptions, report: object, startedAt: Date): string[] {
  const dir = path.resolve(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  // Every section a plain `npm run bench` runs (baseline only runs with --baseline).
  const partial = SECTIONS.some((s) => s !== 'baseline' && !o.sections.includes(s));
  const name = `${startedAt
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z')}${o.quick ? '-quick' : ''}${partial ? `-only-${o.sections.join('-')}` : ''}.json`;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const written = [path.join(dir, name)];
  writeFileSync(written[0]!, json);
  if (!o.quick && !partial) {
    written.push(path.join(dir, 'latest.json'));
    writeFileSync(written[1]!, json);
  }
  return written;
}
