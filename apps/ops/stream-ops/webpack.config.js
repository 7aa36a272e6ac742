const nodeApp = require('../../../tools/webpack/node-app');

// The replay command, shipped beside the app as replay-cli.js.
module.exports = nodeApp(__dirname, { additionalEntryPoints: [{ entryName: 'replay-cli', entryPath: './src/replay-cli.ts' }] });
