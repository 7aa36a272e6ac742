module.exports = {
  displayName: 'notification-delivery',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/notification',
};
