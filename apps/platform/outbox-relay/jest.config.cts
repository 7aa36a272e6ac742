module.exports = {
  displayName: 'outbox-relay',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/outbox-relay',
  // jose (operator tokens, @qls/http-api) ships ES modules only: let ts-jest compile it.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
