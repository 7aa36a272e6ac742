module.exports = {
  displayName: 'feed-indexer-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/feed-indexer',
};
