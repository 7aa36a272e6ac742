module.exports = {
  displayName: 'windowing',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/windowing',
};
