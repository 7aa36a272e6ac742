/**
 * Getting the servers' programs onto the machine: Debian packages through apt-get (as root only)
 * and the Kafka and ElasticMQ jars through Maven, each resolved once into a git-ignored cache.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The path of `command` (a bare name looked up on PATH, or an absolute path), if it is executable. */
export function locate(command: string): string | undefined {
  const candidates = isAbsolute(command) ? [command] : (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, command));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Returns the path of `command`, installing `aptPackage` first when running as root. */
export async function ensureInstalled(command: string, aptPackage: string): Promise<string> {
  const found = locate(command);
  if (found) return found;
  if (!isRoot()) {
    throw new Error(`${command} is not installed; install it with: sudo apt-get install -y ${aptPackage}`);
  }
  await serially(async () => {
    if (!locate(command)) await aptInstall(aptPackage);
  });
  const installed = locate(command);
  if (!installed) throw new Error(`apt-get installed ${aptPackage} but ${command} is still missing`);
  return installed;
}

export function javaCommand(): Promise<string> {
  const javaHome = process.env['JAVA_HOME'];
  if (javaHome && locate(join(javaHome, 'bin/java'))) return Promise.resolve(join(javaHome, 'bin/java'));
  return ensureInstalled('java', 'openjdk-17-jre-headless');
}

let aptUpdated = false;

async function aptInstall(aptPackage: string): Promise<void> {
  if (!aptUpdated) {
    console.error(`apt-get update (to install ${aptPackage})`);
    await run('apt-get', ['update']);
    aptUpdated = true;
  }
  console.error(`apt-get install ${aptPackage}`);
  await run('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=600', aptPackage]);
}

/** apt-get and Maven each work on shared state (the dpkg lock, ~/.m2), so one runs at a time. */
let queue: Promise<unknown> = Promise.resolve();
function serially<T>(task: () => Promise<T>): Promise<T> {
  const result = queue.then(task, task);
  queue = result.catch(() => undefined);
  return result;
}

/** Runs a command with its output on our stderr (apt-get prints progress worth seeing). */
function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 2, 2],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** A `<name>value</name>` property of a pom: the pom is the one place where a version is written. */
export function pomProperty(pomPath: string, name: string): string {
  const match = new RegExp(`<${name.replaceAll('.', '\\.')}>([^<]+)</`).exec(readFileSync(pomPath, 'utf8'));
  if (!match) throw new Error(`${pomPath} has no <${name}> property`);
  return match[1].trim();
}

/**
 * The runtime jars of `pomPath` in `libDir`, copied there by Maven when missing or when the pom
 * changed since (a stamp file holds the pom's hash). Copies into a temporary folder first so an
 * interrupted download never looks complete.
 */
export async function resolveJars(pomPath: string, libDir: string): Promise<string> {
  const stampPath = join(libDir, '.pom-sha256');
  const pomHash = createHash('sha256').update(readFileSync(pomPath)).digest('hex');
  const upToDate = () => existsSync(stampPath) && readFileSync(stampPath, 'utf8') === pomHash;
  if (upToDate()) return libDir;
  const mvn = await ensureInstalled('mvn', 'maven');
  await serially(async () => {
    if (upToDate()) return;
    console.log(`resolving ${pomPath} into ${libDir} with Maven (only when missing)`);
    const staging = `${libDir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(dirname(libDir), { recursive: true });
    await mavenCopyDependencies(mvn, pomPath, staging);
    writeFileSync(join(staging, '.pom-sha256'), pomHash);
    rmSync(libDir, { recursive: true, force: true });
    renameSync(staging, libDir);
  });
  return libDir;
}

function mavenCopyDependencies(mvn: string, pomPath: string, outputDir: string): Promise<void> {
  const args = ['-q', '-B', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`, '-DincludeScope=runtime'];
  return new Promise((resolve, reject) => {
    execFile(mvn, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve();
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n');
      reject(new Error(`mvn ${args.join(' ')} failed:\n${output}`));
    });
  });
}
