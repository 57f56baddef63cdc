// Receipts: what providers report after accepting a message (Twilio status callbacks), recorded on the delivery.
export * from './provider-status.js';
export * from './twilio-status.js';
