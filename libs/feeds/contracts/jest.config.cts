module.exports = {
  displayName: 'feed-contracts',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/feed-contracts',
};
