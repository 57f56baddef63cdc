// Testing: what tests share across packages (test environments on real PostgreSQL and Redis, fake providers, waits); never imported by production code.
export * from './test-env.js';
export * from './wait-for.js';
export * from './notification-finished.js';
export * from './sse.js';
export * from '../channels/testing/fake-fcm.js';
export * from '../channels/testing/fake-push-service.js';
export * from '../channels/testing/fake-twilio.js';
export * from '../channels/testing/provider-test-kit.js';
export * from '../channels/testing/smtp-test-server.js';
export * from '../channels/testing/tls-server.js';
export * from '../channels/testing/webhook-receiver.js';
export * from './counting-pool.js';
export * from './free-port.js';
export * from './pgbouncer.js';
export * from './ssrf-forms.js';
export * from './redis-cluster.js';
