module.exports = {
  displayName: 'provisioning',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/provisioning',
  // jose (ES modules only) is loaded by startBuiltApi in database-roles.int-spec.ts: let ts-jest compile it.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
