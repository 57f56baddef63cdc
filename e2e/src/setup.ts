import { afterAll } from 'vitest';
import { stopAll } from './processes.js';

// A test that fails half-way must not leave API or worker processes behind.
afterAll(stopAll);
