import { cpuSnapshot, cpuUsage, formatCpu } from './cpu.js';
import { setTimeout as sleep } from 'node:timers/promises';
const a = cpuSnapshot();
const t = performance.now(); while (performance.now() - t < 3000) {}
await sleep(2000);
const b = cpuSnapshot();
console.log(formatCpu(cpuUsage(a, b, {}, new Set())));
const top = [...b.processes].map(([pid, p]) => [pid, p.comm, p.ticks - (a.processes.get(pid)?.ticks ?? 0), a.processes.has(pid)] as const).sort((x, y) => y[2] - x[2]).slice(0, 8);
console.log(top);
