import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { GenerateKeyPairResult } from 'jose';
import { waitFor } from './wait-for';

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
  // Loaded here, not at the top: jose is ESM, and only the projects that call this transform it.
  const { SignJWT, exportSPKI, generateKeyPair } = await import('jose');
  const keys = await generateKeyPair('ES256', { extractable: true });
  const port = await freePort();
  const databaseUrl = new URL(options.databaseUrl);
  databaseUrl.searchParams.set('options', `-c search_path=${options.schema}`);
  const child = startBuiltApp(app, {
    HTTP_PORT: String(port),
    DATABASE_URL: databaseUrl.toString(),
    AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey),
    AUTH_JWT_ISSUER: options.issuer,
    AUTH_JWT_AUDIENCE: options.audience,
    ...options.env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, {
    timeoutMs: 30_000,
    description: `${app} ready`,
  });
  return {
    url,
    process: child,
    databaseUrl: databaseUrl.toString(),
    keys,
    token: (subject) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(subject)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setExpirationTime('5m')
        .sign(keys.privateKey),
  };
}
