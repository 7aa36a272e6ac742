module.exports = {
  displayName: 'stream-replay',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/stream-ops',
};
