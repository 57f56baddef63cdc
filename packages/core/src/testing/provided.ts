/** What the global setup hands each test file through vitest's inject(). */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}
export {};
