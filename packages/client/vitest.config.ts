import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// unit: the retry logic, errors and webhook verification, no server; integration: the committed types against a fresh generation.
// The client against the real API and worker: e2e/src/client.e2e.test.ts.
export default mergeConfig(shared, defineConfig({}));
