// Workflows: definitions (versioned, validated at write time) and the runs that execute them.
export * from './definition.js';
export * from './definitions.js';
export * from './engine.js';
export * from './runs.js';
export * from './timing.js';
export * from './conditions.js';
export * from './digest.js';
export * from './transitions.js';
export * from './fanout.js';
