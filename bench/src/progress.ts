const started = performance.now();

/** Progress goes to stderr so that stdout carries only the result table. */
export function progress(message: string): void {
  const s = (performance.now() - started) / 1000;
  const stamp = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  process.stderr.write(`[bench ${stamp}] ${message}\n`);
}

export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}
