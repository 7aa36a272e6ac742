module.exports = {
  displayName: 'metrics-alerter',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/metrics-alerter',
};
