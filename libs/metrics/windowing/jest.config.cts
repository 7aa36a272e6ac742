module.exports = {
  displayName: 'metrics-windowing',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/windowing',
};
