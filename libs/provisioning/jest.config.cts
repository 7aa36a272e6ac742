module.exports = {
  displayName: 'provisioning',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/provisioning',
};
