import { createBenchEnv } from './bench-env.js';
import { measureCeilings } from './ceilings.js';
import { parseOptions } from './options.js';
import { withCpu, formatCpu } from './cpu.js';
const b = await createBenchEnv();
try {
  const o = parseOptions(process.argv.slice(2));
  const { result, cpu } = await withCpu(b.db.pool, {}, () => measureCeilings(b, o));
  console.log(JSON.stringify(result), formatCpu(cpu));
} finally { await b.close(); }
