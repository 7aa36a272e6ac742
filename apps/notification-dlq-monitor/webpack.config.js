const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

// Bundles the app and the workspace libs into dist/apps/notification-dlq-monitor/main.js;
// node_modules stay external (the plugin's default for target node), which is
// also what lets OpenTelemetry instrument them: it hooks Node's require.
module.exports = {
  output: {
    path: join(__dirname, '../../dist/apps/notification-dlq-monitor'),
    clean: true,
    ...(process.env.NODE_ENV !== 'production' && {
      devtoolModuleFilenameTemplate: '[absolute-resource-path]',
    }),
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      tsConfig: './tsconfig.app.json',
      externalDependencies: 'all',
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: true,
      sourceMap: true,
    }),
  ],
};
