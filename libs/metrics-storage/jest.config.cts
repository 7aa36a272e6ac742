module.exports = {
  displayName: 'metrics-storage-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/metrics-storage',
};
