module.exports = {
  displayName: 'feed-timeline',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/feed',
};
