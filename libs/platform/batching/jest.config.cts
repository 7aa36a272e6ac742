module.exports = {
  displayName: 'batching',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/batching',
};
