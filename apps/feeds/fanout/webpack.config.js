const nodeApp = require('../../../tools/webpack/node-app');

// The rebuild command, shipped beside the app as rebuild-cli.js.
module.exports = nodeApp(__dirname, { additionalEntryPoints: [{ entryName: 'rebuild-cli', entryPath: './src/rebuild-cli.ts' }] });
