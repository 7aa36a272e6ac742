module.exports = {
  displayName: 'feed-api-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/feed-api',
};
