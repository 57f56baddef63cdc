// Deliveries: the deliveries table, its reads and every delivery status transition.
export * from './store.js';
export * from './deliveries.js';
