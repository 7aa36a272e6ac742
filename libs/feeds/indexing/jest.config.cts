module.exports = {
  displayName: 'feed-indexing',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/feed-indexer',
};
