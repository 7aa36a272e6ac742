module.exports = {
  displayName: 'metrics-ingestion',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/metrics-ingest',
};
