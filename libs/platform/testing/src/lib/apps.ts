import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { GenerateKeyPairResult } from 'jose';
import { userTokens } from './operator-tokens';
import { waitFor } from './wait-for';

const root = join(__dirname, '../../../../..');
const dist = join(root, 'dist/apps');

/** infra/migrations: the schema every app runs on (apply it with `migrate` from @qls/provisioning). */
export const migrationsDir = join(root, 'infra/migrations');

/** An app built in the test's process (e.g. a Nest application). */
export interface ListeningApp {
  listen(port: number, host: string): Promise<unknown>;
  getHttpServer(): { address(): unknown };
}

/** Serves `app` on a free port of 127.0.0.1; resolves to its base URL, e.g. `http://127.0.0.1:41234`. */
export async function listenLocally(app: ListeningApp): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (typeof address !== 'object' || address === null || !('port' in address)) throw new Error('the app listens on no TCP port');
  return `http://127.0.0.1:${String(address.port)}`;
}

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

export interface ReadyApp {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  readonly process: ChildProcess;
}

/**
 * {@link startBuiltApp} on a free port (`HTTP_PORT`); resolves once its
 * `/health/ready` answers 200. The caller stops it ({@link stopApps}).
 */
export async function startReadyApp(app: string, env: Record<string, string>): Promise<ReadyApp> {
  const port = await freePort();
  const child = startBuiltApp(app, { HTTP_PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, {
    timeoutMs: 30_000,
    description: `${app} ready`,
  });
  return { url, process: child };
}

/** Stops apps started with {@link startBuiltApp}: SIGTERM to each, resolved once all have exited. */
export async function stopApps(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    }),
  );
}

export interface BuiltApi {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  readonly process: ChildProcess;
  /** The app's DATABASE_URL: the test database with its schema on the search path. */
  readonly databaseUrl: string;
  /** The ES256 key pair the app trusts: its private key signs callers' tokens. */
  readonly keys: GenerateKeyPairResult;
  /** A bearer token for `subject` from the configured issuer, valid 5 minutes. */
  token(subject: string): Promise<string>;
}

export interface BuiltApiOptions {
  /** The test database (`TestResources.env.DATABASE_URL`) and the schema to use in it. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly issuer: string;
  readonly audience: string;
  /** More of the app's environment (queue names, rate limits). */
  readonly env?: Record<string, string>;
}

/**
 * Starts one of the HTTP APIs as deployed ({@link startBuiltApp}) on a free
 * port, against the test's schema, trusting a fresh ES256 key pair; resolves
 * when `/health/ready` answers 200. The caller kills `process`.
 */
export async function startBuiltApi(app: string, options: BuiltApiOptions): Promise<BuiltApi> {
  const users = await userTokens(options.audience, options.issuer);
  const databaseUrl = new URL(options.databaseUrl);
  databaseUrl.searchParams.set('options', `-c search_path=${options.schema}`);
  const { url, process } = await startReadyApp(app, { DATABASE_URL: databaseUrl.toString(), ...users.env, ...options.env });
  return { url, process, databaseUrl: databaseUrl.toString(), keys: users.keys, token: (subject) => users.token(subject) };
}
