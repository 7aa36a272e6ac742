/**
 * A clone in a folder other users cannot enter (root cloning into /root/…, or a 0700 temp dir):
 * Postgres runs as the postgres OS user, which cannot reach a data dir inside it. Drives the real
 * manager against a private data dir of its own and a port of its own, starting Postgres alone,
 * so it never touches the servers of `./dev up`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const PORT = 25442;
const DATABASE_URL = `postgres://qls_private:secret@127.0.0.1:${PORT}/qls_private`;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('local server manager in a clone other users cannot traverse', () => {
  // A folder only its owner may enter, as mkdtemp makes it; the data dir is inside it.
  const privateDir = mkdtempSync(join(tmpdir(), 'qls-private-'));
  const dataDir = join(privateDir, 'clone', '.data');
  // As root the cluster moves out of the clone, to a folder of the postgres user under /var/tmp.
  const OUTSIDE = '/var/tmp';
  const outsideBefore = new Set(readdirSync(OUTSIDE));
  const outsideNow = () => readdirSync(OUTSIDE).filter((name) => name.startsWith('qls-postgres-') && !outsideBefore.has(name));

  function manager(args: string[]): Promise<Outcome> {
    const child = spawn(process.execPath, ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', join(__dirname, 'infra.ts'), ...args], {
      env: { ...process.env, DATABASE_URL, QLS_DATA_DIR: dataDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  }

  function expectExit(outcome: Outcome, code: number): void {
    if (outcome.code !== code) throw new Error(`expected exit ${code}, got ${outcome.code}\n${outcome.stdout}\n${outcome.stderr}`);
    expect(outcome.code).toBe(code);
  }

  afterAll(async () => {
    await manager(['down', 'postgres']);
    rmSync(privateDir, { recursive: true, force: true });
    for (const name of outsideNow()) rmSync(join(OUTSIDE, name), { recursive: true, force: true });
  }, 60_000);

  it('starts Postgres, answers on DATABASE_URL, reports it running, restarts it on the same data, and stops it', async () => {
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);

    expectExit(await manager(['up', 'postgres']), 0);
    const query = async () => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        return (await client.query<{ user: string }>('SELECT current_user AS user')).rows;
      } finally {
        await client.end();
      }
    };
    expect(await query()).toEqual([{ user: 'qls_private' }]);
    const outside = outsideNow();
    expect(outside).toHaveLength(process.getuid?.() === 0 ? 1 : 0);
    expect(outside.filter((name) => !existsSync(join(OUTSIDE, name, 'pgdata', 'PG_VERSION')))).toEqual([]);
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    await client.end();
    expectExit(await manager(['status', 'postgres']), 0);

    expectExit(await manager(['down', 'postgres']), 0);
    expectExit(await manager(['status', 'postgres']), 3);
    expectExit(await manager(['up', 'postgres']), 0);
    const again = new Client({ connectionString: DATABASE_URL });
    await again.connect();
    try {
      expect((await again.query('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    } finally {
      await again.end();
    }
    expectExit(await manager(['down', 'postgres']), 0);
  }, 180_000);
});
