module.exports = {
  displayName: 'feed-service',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/feed-api',
};
