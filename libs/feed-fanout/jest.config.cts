module.exports = {
  displayName: 'feed-fanout-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/feed-fanout',
};
