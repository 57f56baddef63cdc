// Channels: provider adapters (console, simulated, in-app, webhook, web push, FCM, SMTP, Twilio), their registry, fallback chain and circuit breaker.
export * from './provider.js';
export * from './provider-error.js';
export * from './registry.js';
export * from './simulated.js';
export * from './console.js';
export * from './circuit-breaker.js';
export * from './provider-chain.js';
export * from './inbox.js';
export * from './webhook.js';
export * from './webpush.js';
export * from './fcm.js';
export * from './smtp.js';
export * from './twilio.js';
