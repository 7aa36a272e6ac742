module.exports = {
  displayName: 'metrics-ingest-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/metrics-ingest',
  // jose ships ES modules only; let the preset's ts-jest transform compile it (tsconfig.json has allowJs).
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
