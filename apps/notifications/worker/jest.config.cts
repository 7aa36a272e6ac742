module.exports = {
  displayName: 'notification-worker',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/notification-worker',
};
