import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { loadGeneratorPid } from './load.js';

/** Linux reports process CPU time in clock ticks; 100 per second on every mainstream kernel config. */
const TICKS_PER_SECOND = 100;

/**
 * Where the CPU went. `pg` is the PostgreSQL backends serving the service's
 * (and the bench's) connections; `pg_other` is every other PostgreSQL
 * process: background writers and other people's sessions on a shared
 * server. `other` is everything else on the machine; together with
 * `pg_other` it shows when something outside the benchmark competed for the
 * cores. `load` is the load generator's process, `bench` the benchmark's
 * own (it polls PostgreSQL and /proc while it measures).
 */
export type CpuGroup = 'api' | 'worker' | 'pg' | 'pg_other' | 'redis' | 'load' | 'bench' | 'other';

export interface CpuSnapshot {
  atMs: number;
  /** CPU ticks so far, command name and start time (ticks after boot), per process. */
  processes: Map<number, { comm: string; ticks: number; start: number }>;
  /** Ticks since boot when the snapshot was taken. */
  uptimeTicks: number;
  /** Whole machine, from /proc/stat: busy and total ticks over all cores. */
  machineBusy: number;
  machineTotal: number;
}

/** CPU per group over an interval, in % of one core (200 % = both cores of a 2-core machine). */
export type CpuUsage = Record<CpuGroup | 'machine', number>;

export interface ServicePids {
  api?: number | undefined;
  /** One worker process, or several (a fleet): their CPU adds up in `worker`. */
  worker?: number | readonly number[] | undefined;
  /** The Redis servers the service uses (redisServerPids); when given, other redis-server processes count as `other`. */
  redis?: ReadonlySet<number> | undefined;
}

/** Every process's CPU time so far, from /proc. */
export function cpuSnapshot(): CpuSnapshot {
  const uptimeTicks = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * TICKS_PER_SECOND;
  const processes = new Map<number, { comm: string; ticks: number; start: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    processes.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]), start: Number(fields[19]) });
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { atMs: performance.now(), processes, uptimeTicks, machineBusy: total - idle, machineTotal: total };
}

function groupOf(pid: number, comm: string, pids: ServicePids, ourBackends: ReadonlySet<number>): CpuGroup {
  if (pid === pids.api) return 'api';
  if (workerPids(pids).includes(pid)) return 'worker';
  if (pid === process.pid) return 'bench';
  if (pid === loadGeneratorPid()) return 'load';
  if (comm === 'postgres') return ourBackends.has(pid) ? 'pg' : 'pg_other';
  if (comm.startsWith('redis-server') && (pids.redis === undefined || pids.redis.has(pid))) return 'redis';
  return 'other';
}

const workerPids = (pids: ServicePids): readonly number[] => (pids.worker === undefined ? [] : typeof pids.worker === 'number' ? [pids.worker] : pids.worker);

/**
 * The redis-server processes listening on these ports of 127.0.0.1, found by
 * their process title (`redis-server 127.0.0.1:6379`, ` [cluster]` after it on
 * a cluster node).
 */
export function redisServerPids(ports: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // exited while we looked
    }
    const port = /^redis-server \S*:(\d+)/.exec(title)?.[1];
    if (port !== undefined && ports.includes(Number(port))) out.add(Number(entry));
  }
  return out;
}

/**
 * CPU seconds per group between two snapshots; a process born in between
 * counts whole. `ourBackends` are the PostgreSQL backend pids to count as `pg`.
 */
export function cpuSeconds(a: CpuSnapshot, b: CpuSnapshot, pids: ServicePids, ourBackends: ReadonlySet<number>): Record<CpuGroup, number> {
  const ticks: Record<CpuGroup, number> = { api: 0, worker: 0, pg: 0, pg_other: 0, redis: 0, load: 0, bench: 0, other: 0 };
  for (const [pid, p] of b.processes) {
    const before = a.processes.get(pid);
    let used: number;
    if (before && before.start === p.start) used = p.ticks - before.ticks;
    // Born in between: all of its time is in the interval.
    else if (p.start >= a.uptimeTicks) used = p.ticks;
    // Older, but the first snapshot missed it (a transient read error): its share is unknown.
    else continue;
    ticks[groupOf(pid, p.comm, pids, ourBackends)] += Math.max(0, used);
  }
  return Object.fromEntries(Object.entries(ticks).map(([g, t]) => [g, t / TICKS_PER_SECOND])) as Record<CpuGroup, number>;
}

/** CPU per group between two snapshots, in % of one core. */
export function cpuUsage(a: CpuSnapshot, b: CpuSnapshot, pids: ServicePids, ourBackends: ReadonlySet<number>): CpuUsage {
  const seconds = (b.atMs - a.atMs) / 1000;
  const used = cpuSeconds(a, b, pids, ourBackends);
  const usage = Object.fromEntries(Object.entries(used).map(([g, s]) => [g, Math.round((s / seconds) * 100)])) as Record<CpuGroup, number>;
  const share = (b.machineBusy - a.machineBusy) / Math.max(1, b.machineTotal - a.machineTotal);
  return { ...usage, machine: Math.round(share * availableParallelism() * 100) };
}

export function formatCpu(u: CpuUsage): string {
  return (
    `cpu% api ${u.api} worker ${u.worker} pg ${u.pg} redis ${u.redis} load ${u.load} bench ${u.bench} | ` +
    `outside: pg ${u.pg_other} other ${u.other} | machine ${u.machine}/${availableParallelism() * 100}`
  );
}

/** CPU spent outside the benchmark's processes (other PostgreSQL sessions and other programs), % of one core. */
export function outsideCpu(u: CpuUsage): number {
  return u.pg_other + u.other;
}

/**
 * The PostgreSQL backends serving connections of the given processes:
 * their sockets' local ports (from /proc/<pid>/fd and /proc/net/tcp*)
 * matched with pg_stat_activity.client_port.
 */
export async function backendsOf(pool: pg.Pool, pids: number[]): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed while we looked
      }
    }
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const inode = cols[9];
      if (local && inode && inodes.has(inode)) ports.push(parseInt(local.split(':')[1] ?? '0', 16));
    }
  }
  if (ports.length === 0) return new Set();
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports]);
  return new Set(rows.map((r) => r.pid));
}

/** Resident memory of a process in bytes (VmRSS), or null once it has exited. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `fn` and reports where the machine's CPU went meanwhile. */
export async function withCpu<T>(pool: pg.Pool, pids: ServicePids, fn: () => Promise<T>): Promise<{ result: T; cpu: CpuUsage }> {
  const before = cpuSnapshot();
  const result = await fn();
  const after = cpuSnapshot();
  const ours = [pids.api, ...workerPids(pids), process.pid].filter((p): p is number => p !== undefined);
  return { result, cpu: cpuUsage(before, after, pids, await backendsOf(pool, ours)) };
}
