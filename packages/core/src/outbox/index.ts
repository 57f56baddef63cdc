// Outbox: adding delivery jobs after commit, and the sweeper that re-adds deliveries left queued, so a crash between commit and enqueue loses nothing.
export * from './outbox.js';
