// Suppressions: addresses providers refused for good (hard bounces, STOP, invalid numbers, dead push tokens), per app.
export * from './suppressions.js';
