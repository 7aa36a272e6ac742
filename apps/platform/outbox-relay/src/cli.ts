/**
 * Operator commands, the same as the HTTP endpoints:
 *
 *   node dist/apps/outbox-relay/cli.js stats
 *   node dist/apps/outbox-relay/cli.js parked
 *   node dist/apps/outbox-relay/cli.js retry-parked [id ...]   (no ids: every parked row)
 *
 * Locally: ./dev npx tsx apps/platform/outbox-relay/src/cli.ts <command>
 */
import { Pool } from 'pg';
import { loadConfigOrExit, postgresEnv, z } from '@qls/config';
import { listParked, retryParked, stats } from '@qls/outbox';

const commands = {
  stats: (pool: Pool) => stats(pool),
  parked: (pool: Pool) => listParked(pool),
  'retry-parked': async (pool: Pool, ids: string[]) => ({ retried: await retryParked(pool, ids.length > 0 ? ids : undefined) }),
} as const;

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || !(name in commands)) {
    process.stderr.write(`usage: cli <${Object.keys(commands).join('|')}> [ids...]\n`);
    return 2;
  }
  if (args.some((id) => !/^\d+$/.test(id))) {
    process.stderr.write('ids must be outbox row ids (digits)\n');
    return 2;
  }
  const { DATABASE_URL } = loadConfigOrExit(z.object(postgresEnv));
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    const result = await commands[name as keyof typeof commands](pool, args);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
