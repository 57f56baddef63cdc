import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout. Never log message bodies, addresses, phone numbers or tokens. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
