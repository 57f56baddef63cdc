// Status webhooks: the endpoints clients register and the delivery status events sent to them.
export * from './events.js';
export * from './endpoints.js';
