module.exports = {
  displayName: 'sqs',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/sqs',
};
