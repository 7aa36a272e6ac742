module.exports = {
  displayName: 'failure-lab',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/ops/failure-lab',
};
