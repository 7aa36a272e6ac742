module.exports = {
  displayName: 'feed-indexer',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/apps/feed-indexer',
};
