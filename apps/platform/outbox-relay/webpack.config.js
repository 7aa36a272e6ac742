const nodeApp = require('../../../tools/webpack/node-app');

// Operator commands (retry parked rows...), shipped beside the app as cli.js.
module.exports = nodeApp(__dirname, { additionalEntryPoints: [{ entryName: 'cli', entryPath: './src/cli.ts' }] });
