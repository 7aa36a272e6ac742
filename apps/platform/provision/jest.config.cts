module.exports = {
  displayName: 'provision',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/provision',
};
