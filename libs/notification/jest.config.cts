module.exports = {
  displayName: 'notification',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/notification',
};
