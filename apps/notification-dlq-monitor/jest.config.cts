module.exports = {
  displayName: 'notification-dlq-monitor',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/notification-dlq-monitor',
};
