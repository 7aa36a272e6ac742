module.exports = {
  displayName: 'metrics-dashboard-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/metrics-dashboard',
};
