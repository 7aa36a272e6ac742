module.exports = {
  displayName: 'metrics-dashboard',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/metrics-dashboard',
};
