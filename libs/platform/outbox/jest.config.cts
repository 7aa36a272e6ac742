module.exports = {
  displayName: 'outbox',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/outbox',
};
