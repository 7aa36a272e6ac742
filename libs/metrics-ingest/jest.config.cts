module.exports = {
  displayName: 'metrics-ingest-lib',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/metrics-ingest',
};
