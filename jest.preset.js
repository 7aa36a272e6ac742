const nxPreset = require('@nx/jest/preset').default;

/**
 * Two tiers (see docs/testing.md): `*.spec.ts` are unit tests of pure logic and
 * need no server; `*.int-spec.ts` run against the real local Kafka, ElasticMQ,
 * Postgres and Redis (`./dev up`). TEST_TIER=int selects the second tier.
 */
const tier = process.env.TEST_TIER === 'int' ? 'int' : 'unit';

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  // Every project keeps one tsconfig.json for its code and its specs.
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js'],
  testMatch: tier === 'int' ? ['**/?(*.)int-spec.ts'] : ['**/?(*.)spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: [`${__dirname}/tools/jest/load-env.cjs`],
  testTimeout: tier === 'int' ? 60_000 : 5_000,
  passWithNoTests: true,
};
