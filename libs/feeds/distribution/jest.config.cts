module.exports = {
  displayName: 'feed-distribution',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/feed-fanout',
};
