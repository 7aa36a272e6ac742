module.exports = {
  displayName: 'metrics-alerter',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/metrics-alerter',
};
