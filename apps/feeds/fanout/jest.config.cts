module.exports = {
  displayName: 'feed-fanout',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/feed-fanout',
};
