// Loaded with `node --import`: appends the file URL of every module this
// process loads, one a line, to MODULE_TRACE_FILE: ES modules through a
// resolve hook, CommonJS ones from require.cache when the process exits (on
// Node 20 the hooks do not see require()). Put in NODE_OPTIONS, it follows
// child processes too.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const out = process.env.MODULE_TRACE_FILE;
if (out) {
  register(new URL('./hooks.mjs', import.meta.url), { data: { out } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(
      out,
      Object.keys(cache)
        .map((file) => `${pathToFileURL(file).href}\n`)
        .join(''),
    );
  });
}
