module.exports = {
  displayName: 'infra-local',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/infra/local',
};
