import type { Config } from 'jest';
import { getJestProjectsAsync } from '@nx/jest';

// Global options (not per project) when jest runs every project at once: see jest.preset.js for the tiers.
export default async (): Promise<Config> => ({
  projects: await getJestProjectsAsync(),
  testTimeout: process.env['TEST_TIER'] === 'int' ? 60_000 : 5_000,
  // A failed integration test can leave a broker client's socket open; the run
  // must still end (CI would otherwise wait for its time limit).
  forceExit: process.env['TEST_TIER'] === 'int',
});
