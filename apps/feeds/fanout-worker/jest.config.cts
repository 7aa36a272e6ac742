module.exports = {
  displayName: 'feed-fanout-worker',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/feed-fanout-worker',
};
