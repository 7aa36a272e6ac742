module.exports = {
  displayName: 'stream-ops-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/stream-ops',
};
