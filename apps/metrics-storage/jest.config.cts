module.exports = {
  displayName: 'metrics-storage',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/metrics-storage',
};
