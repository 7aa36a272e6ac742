module.exports = {
  displayName: 'metrics-views',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/metrics-dashboard',
};
