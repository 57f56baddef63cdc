// Observability: metrics, telemetry, delivery stats, the dashboard's queries and tracing.
export * from './metrics.js';
export * from './delivery-stats.js';
export * from './telemetry.js';
export * from './readiness.js';
export * from './dashboard.js';
export * from './tracing.js';
