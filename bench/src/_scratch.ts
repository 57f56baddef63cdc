import { createBenchEnv } from './bench-env.js';
import { startDeployment, BENCH_CHANNEL } from './service-processes.js';
import { fixedRateLoad } from './load.js';
import { deliveryStats, waitUntilFinished } from './delivery-stats.js';
import { cpuSnapshot, cpuUsage, formatCpu } from './cpu.js';
const b = await createBenchEnv();
const d = await startDeployment(b, {});
try {
  for (const rate of (process.argv[2] ?? '1000,2000').split(',').map(Number)) {
    const { appId, key } = await b.newApp(`r${rate}`);
    const c0 = cpuSnapshot({ api: d.api.pid, worker: d.worker.pid });
    const r = await fixedRateLoad({ url: `${d.url}/notifications`, key, body: JSON.stringify({ user_id: 'u-[<id>]', message: 'Benchmark', channels: [BENCH_CHANNEL] }), rate, seconds: Number(process.argv[3] ?? 5) });
    const c1 = cpuSnapshot({ api: d.api.pid, worker: d.worker.pid });
    const drain = await waitUntilFinished(b, appId, 60000);
    const s = await deliveryStats(b, appId);
    console.log(rate, JSON.stringify({ ...r, drain, s }), formatCpu(cpuUsage(c0, c1)));
  }
} finally {
  await d.stop();
  await b.close();
}
