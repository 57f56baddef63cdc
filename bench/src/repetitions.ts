import { progress } from './progress.js';
import type { Deployment } from './service-processes.js';

/** The running service, started on first use and again after a process died. */
export interface ServiceHandle {
  get(): Promise<Deployment>;
  /** True when the current deployment has a dead process. */
  died(): boolean;
}

/** A section's completed repetitions, and what went wrong in the others. */
export interface Repeated<T> {
  reps: T[];
  failures: string[];
}

/**
 * Runs `reps` repetitions. A repetition that fails is recorded and the
 * section goes on; when it failed because a service process died (on a
 * shared machine something may kill it), the service is restarted and the
 * repetition run once more, so one outside kill does not cost the figure.
 */
export async function repeat<T>(what: string, reps: number, service: ServiceHandle, run: (rep: number, d: Deployment) => Promise<T>): Promise<Repeated<T>> {
  const out: Repeated<T> = { reps: [], failures: [] };
  for (let rep = 1; rep <= reps; rep++) {
    for (let attempt = 1; ; attempt++) {
      try {
        out.reps.push(await run(rep, await service.get()));
        break;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const died = service.died();
        out.failures.push(`${what} rep ${rep}${attempt > 1 ? ` (retry)` : ''}: ${died ? 'a service process died: ' : ''}${message.split('\n')[0]}`);
        progress(`${what} rep ${rep} failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
        if (!died || attempt > 1) break;
        progress(`${what} rep ${rep}: running it again on a restarted service`);
      }
    }
  }
  return out;
}
