module.exports = {
  displayName: 'metrics-storage',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/metrics-storage',
  // jose (operator tokens, @qls/http-api) ships ES modules only: let ts-jest compile it.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
