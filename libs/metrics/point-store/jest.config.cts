module.exports = {
  displayName: 'metrics-point-store',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/metrics-storage',
};
