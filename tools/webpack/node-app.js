const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

/**
 * The webpack config every deployable shares: bundles the app and the
 * workspace libs into dist/apps/<app>/main.js; node_modules stay external (the
 * plugin's default for target node), which is also what lets OpenTelemetry
 * instrument them — it hooks Node's require. (ESM-only packages such as jose
 * load through require() natively on Node 24.)
 *
 * @param {string} appDir the app's folder (`__dirname` of its webpack.config.js)
 * @param {{ additionalEntryPoints?: { entryName: string, entryPath: string }[] }} [options]
 */
module.exports = function nodeApp(appDir, options = {}) {
  return {
    output: {
      // dist/apps/<project name>: folders group apps by system (apps/<system>/<app>), dist stays flat.
      path: join(__dirname, '../../dist/apps', require(join(appDir, 'project.json')).name),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
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
        ...options,
      }),
    ],
  };
};
