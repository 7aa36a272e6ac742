import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const dist = join(__dirname, '../../../../dist/apps');

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  // The kernel often hands the same port to the next bind(0) once the probe is
  // closed; two apps started one after the other would then race for it. A
  // port is given out once per process.
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    const port = typeof address === 'object' && address ? address.port : 0;
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

const handedOut = new Set<number>();

/**
 * Runs a built app (`dist/apps/<app>/main.js`) as its own process, the way it
 * is deployed, with the test's environment plus `env`. The caller kills it.
 */
export function startBuiltApp(app: string, env: Record<string, string>): ChildProcess {
  const main = join(dist, app, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`./dev npx nx run-many -t build\` first`);
  return spawn(process.execPath, [main], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}
