// Content: templates, categories (with their frequency caps), send pauses and the sandboxed template engine with its render pool.
export * from './categories.js';
export * from './engine.js';
export * from './render-pool.js';
export * from './templates.js';
export * from './pauses.js';
