import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Local servers (`./dev up`, infra/local). */
export type LocalServer = 'kafka' | 'elasticmq' | 'postgres' | 'redis';

/** Local servers that run as one process, so stopping that process stops the server. */
export type PausableServer = Exclude<LocalServer, 'postgres'>;

/**
 * The pid of a local server's main process (for Postgres the postmaster,
 * whose children are the backends), from its data dir (QLS_DATA_DIR, as in
 * infra/local).
 */
export function localServerPid(server: LocalServer): number {
  const dataDir = resolve(__dirname, '../../../../..', process.env['QLS_DATA_DIR'] || '.data');
  const pid = Number(readFileSync(join(dataDir, server, 'server.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid recorded for the local ${server} server under ${dataDir}`);
  return pid;
}

/**
 * Freezes a local server for `ms` with SIGSTOP, as a long GC pause, a stalled
 * disk or a network partition would, then lets it go on with SIGCONT.
 * Connections stay open: clients see requests time out, not refused
 * connections.
 */
export async function pauseServer(server: PausableServer, ms: number): Promise<void> {
  const pid = localServerPid(server);
  process.kill(pid, 'SIGSTOP');
  try {
    await new Promise((done) => setTimeout(done, ms));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
