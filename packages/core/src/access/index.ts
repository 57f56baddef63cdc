// Access: API keys (creating, listing, revoking, looking up; each key belongs to one app).
export * from './api-keys.js';
export * from './audit.js';
export * from './user-tokens.js';
export * from './cors.js';
