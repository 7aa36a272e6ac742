module.exports = {
  displayName: 'notification-intake',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/notification-intake',
};
