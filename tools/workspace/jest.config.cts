module.exports = {
  displayName: 'workspace-plugin',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/tools/workspace',
  // Templates are not specs.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/files/'],
};
