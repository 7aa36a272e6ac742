module.exports = {
  displayName: 'http-api',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/http-api',
  // jose ships ES modules only. Node 24 require()s them natively (the built app
  // does), jest's CommonJS runtime does not: let the preset's ts-jest transform
  // compile it (tsconfig.json has allowJs).
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
