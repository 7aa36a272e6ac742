module.exports = {
  displayName: 'notification-dlq-monitor',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/notification-dlq-monitor',
  // jose (operator tokens, @qls/http-api) ships ES modules only: let ts-jest compile it.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
