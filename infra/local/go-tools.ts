/**
 * Prometheus (and promtool) and Jaeger, built from source with the machine's Go: no registry
 * serves their images here, the Go module proxy serves their code. Each is a Go tools module
 * (infra/local/<tool>/go.mod: `tool` directives, every dependency pinned by go.sum), built with
 * `go install tool` into `~/.cache/queues-logs-streams/go-tools/<tool>-<hash of go.mod and go.sum>`,
 * shared by every clone on the machine (Go's own module and build caches make a rebuild quick).
 * The first build takes minutes (docs/running-locally.md has the numbers); then it is reused.
 *
 *   node infra/local/go-tools.ts        build every tool now (CI starts this early, in the background)
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolCacheDir } from './config.ts';
import { locate } from './install.ts';

const HERE = import.meta.dirname;
const PROGRESS_EVERY_MS = 30_000;

/** The tools modules and the commands each one builds. */
export const GO_TOOLS = {
  prometheus: ['prometheus', 'promtool'],
  jaeger: ['jaeger'],
} as const;
export type GoToolModule = keyof typeof GO_TOOLS;

/** The folder holding the module's built commands, building them first when missing or when its go.mod changed. */
export async function goTool(cacheDir: string, module: GoToolModule): Promise<string> {
  const moduleDir = join(HERE, module);
  const hash = createHash('sha256')
    .update(readFileSync(join(moduleDir, 'go.mod')))
    .update(readFileSync(join(moduleDir, 'go.sum')))
    .digest('hex')
    .slice(0, 16);
  const binDir = join(cacheDir, 'go-tools', `${module}-${hash}`);
  if (GO_TOOLS[module].every((command) => existsSync(join(binDir, command)))) return binDir;
  const go = await goCommand();
  const staging = `${binDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logPath = `${binDir}.build.log`;
  console.log(`${module.padEnd(9)} building from source with ${go} (first time only; minutes, see ${logPath})`);
  const started = Date.now();
  await goInstall(go, moduleDir, staging, logPath, (packages) =>
    console.log(`${module.padEnd(9)} building: ${packages} packages compiled, ${Math.round((Date.now() - started) / 1000)} s`),
  );
  writeFileSync(join(staging, '.go.mod-sha256'), hash);
  rmSync(binDir, { recursive: true, force: true });
  renameSync(staging, binDir);
  console.log(`${module.padEnd(9)} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binDir;
}

/** The machine's Go, if it can build these modules (Debian's golang-go is too old). */
async function goCommand(): Promise<string> {
  const go = locate('go');
  const fix = 'install Go 1.26.7 or newer (https://go.dev/dl), or run without them: ./dev up --no-observability';
  if (!go) throw new Error(`Prometheus and Jaeger are built from source with Go, which is not on PATH: ${fix}`);
  const version = await new Promise<string>((resolve) =>
    execFile(go, ['env', 'GOVERSION'], (error, stdout) => resolve(error ? '' : stdout.trim())),
  );
  const [major = 0, minor = 0, patch = 0] = (/^go(\d+)\.(\d+)(?:\.(\d+))?/.exec(version) ?? []).slice(1).map((part) => Number(part ?? 0));
  if (major * 1e6 + minor * 1e3 + patch < 1_026_007) throw new Error(`${go} is ${version || 'an unknown version'}: ${fix}`);
  return go;
}

/** `go install -v tool` in the module's folder; `-v` names each package as it is compiled, the progress shown. */
function goInstall(go: string, moduleDir: string, binDir: string, logPath: string, progress: (packages: number) => void): Promise<void> {
  const log = createWriteStream(logPath);
  // GOTOOLCHAIN=local: build with this Go or fail, never download another toolchain.
  const env = { ...process.env, GOBIN: binDir, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' };
  const child = spawn(go, ['install', '-v', 'tool'], { cwd: moduleDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let packages = 0;
  let tail: string[] = [];
  const timer = setInterval(() => progress(packages), PROGRESS_EVERY_MS);
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    packages += lines.filter((line) => /^[\w.-]+(\/[\w.@-]+)*$/.test(line)).length;
    tail = [...tail, ...lines].slice(-20);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${go}: ${error.message}`)));
    child.once('exit', (code) => {
      clearInterval(timer);
      log.end();
      if (code === 0) resolve();
      else reject(new Error(`go install tool in ${moduleDir} exited with ${code}:\n${tail.join('\n')}`));
    });
  });
}

if (import.meta.main) {
  const cacheDir = toolCacheDir(process.env);
  for (const module of Object.keys(GO_TOOLS) as GoToolModule[]) console.log(`${module}: ${await goTool(cacheDir, module)}`);
}
