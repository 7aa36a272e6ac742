module.exports = {
  displayName: 'metrics-contracts',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/metrics-contracts',
};
