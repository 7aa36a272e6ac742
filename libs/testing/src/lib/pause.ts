import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Local servers that run as one process, so stopping that process stops the server. */
export type PausableServer = 'kafka' | 'elasticmq' | 'redis';

/**
 * Freezes a local server (`./dev up`) for `ms` with SIGSTOP, as a long GC
 * pause, a stalled disk or a network partition would, then lets it go on with
 * SIGCONT. Connections stay open: clients see requests time out, not refused
 * connections. The pid comes from the server's data dir (QLS_DATA_DIR, as in
 * infra/local).
 */
export async function pauseServer(server: PausableServer, ms: number): Promise<void> {
  const dataDir = resolve(__dirname, '../../../..', process.env['QLS_DATA_DIR'] || '.data');
  const pid = Number(readFileSync(join(dataDir, server, 'server.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid recorded for the local ${server} server under ${dataDir}`);
  process.kill(pid, 'SIGSTOP');
  try {
    await new Promise((done) => setTimeout(done, ms));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
