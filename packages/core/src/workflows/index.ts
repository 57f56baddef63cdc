// Workflows: definitions (versioned, validated at write time) and the runs that execute them.
export * from './definition.js';
export * from './definitions.js';
