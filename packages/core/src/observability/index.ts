// Observability: metrics, telemetry, delivery stats and the dashboard's queries.
export * from './metrics.js';
export * from './delivery-stats.js';
export * from './telemetry.js';
export * from './readiness.js';
export * from './dashboard.js';
