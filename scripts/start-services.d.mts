// Types of start-services.mjs, for the tests that import it.
export type Kind = 'database' | 'redis';
export type Urls = Partial<Record<Kind, string>>;
export const DEFAULTS: Record<Kind, string>;
export const VOLUMES: Record<Kind, string>;
export function probe(url: string, timeoutMs?: number): Promise<boolean>;
export function dockerAvailable(): Promise<boolean>;
export type Plan = { urls: Urls; containers: Kind[]; notes: string[]; error?: undefined } | { error: string };
export function planServices(options: {
  set: Partial<Record<Kind, string | undefined>>;
  defaults?: Record<Kind, string>;
  probe?: (url: string) => Promise<boolean>;
  docker?: () => Promise<boolean>;
}): Promise<Plan>;
export function startContainers(kinds: Kind[]): Promise<{ urls: Urls; stop(): Promise<unknown> }>;
