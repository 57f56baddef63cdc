// Retention: deleting records past their age limit (notifications with everything under them, status events, audit events) in small batches, one worker at a time.
export * from './retention.js';
export * from './status.js';
