module.exports = {
  displayName: 'deploy-checks',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/infra/deploy',
  // Each check runs kubectl or docker-compose (about a second each), not pure logic.
  testTimeout: 60_000,
};
