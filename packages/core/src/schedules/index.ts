// Schedules: recurring sends (cron + time zone) stored in PostgreSQL and fired by BullMQ job schedulers, one fire per occurrence.
export * from './occurrences.js';
export * from './store.js';
export * from './fire.js';
