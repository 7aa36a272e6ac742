module.exports = {
  displayName: 'metrics-dashboard',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/metrics-dashboard',
  // jose (operator tokens, @qls/http-api) ships ES modules only: let ts-jest compile it.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
