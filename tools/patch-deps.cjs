// Narrow source patches to installed dependencies, applied after every `npm ci` (package.json
// "postinstall", so the Docker image build gets them too) and by ./dev when this file is newer
// than the stamp it leaves in node_modules. Each patch names the exact version it was written
// for and the text it replaces: it is applied once (idempotent) and refuses to guess — a new
// version of the dependency fails the install until the patch is reviewed (drop it if the
// upstream fixed the cause, or rewrite it).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

const PATCHES = [
  {
    // kafkajs 2.2.4 (the latest release): RequestQueue starts with throttledUntil = -1 and
    // scheduleCheckPendingRequests passes `throttledUntil - Date.now()` (about -1.8e12) to
    // setTimeout whenever no request is pending. Node 24 warns "TimeoutNegativeWarning: -17…
    // is a negative number" (once per process: every app and CLI) and uses 1 ms. Clamping the
    // delay at 0 keeps the timing (a delay below 1 is 1 ms) and removes the cause.
    // Test: libs/platform/kafka/src/kafkajs-timeouts.int-spec.ts.
    name: 'kafkajs: no negative setTimeout delay in the request queue',
    package: 'kafkajs',
    version: '2.2.4',
    file: 'src/network/requestQueue/index.js',
    from: '    let scheduleAt = this.throttledUntil - Date.now()\n',
    to:
      '    // Patched by tools/patch-deps.cjs: throttledUntil starts at -1, and a negative delay\n' +
      '    // makes Node 24 print TimeoutNegativeWarning (it would use 1 ms anyway).\n' +
      '    let scheduleAt = Math.max(0, this.throttledUntil - Date.now())\n',
  },
];

function apply(patch) {
  const dir = join(root, 'node_modules', patch.package);
  let version;
  try {
    version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return `${patch.name}: ${patch.package} is not installed, nothing to patch`;
  }
  if (version !== patch.version) {
    throw new Error(`${patch.name}: written for ${patch.package}@${patch.version}, installed ${version} — review tools/patch-deps.cjs`);
  }
  const path = join(dir, patch.file);
  const source = readFileSync(path, 'utf8');
  if (source.includes(patch.to)) return `${patch.name}: already applied`;
  if (source.split(patch.from).length !== 2) {
    throw new Error(`${patch.name}: the text to replace is not in ${path} exactly once — review tools/patch-deps.cjs`);
  }
  writeFileSync(path, source.replace(patch.from, patch.to));
  return `${patch.name}: applied`;
}

const results = PATCHES.map(apply);
if (process.env.PATCH_DEPS_VERBOSE) for (const line of results) console.log(line);
writeFileSync(join(root, 'node_modules', '.qls-patched'), `${results.join('\n')}\n`);
