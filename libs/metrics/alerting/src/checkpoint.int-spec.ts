import { join } from 'node:path';
import type { Pool } from 'pg';
import { inTransaction } from '@qls/outbox';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources } from '@qls/testing';
import { CheckpointStore, FencedError } from './lib/checkpoint.store';

const migrations = join(__dirname, '../../../../infra/migrations');

describe('CheckpointStore (Postgres)', () => {
  const resources = new TestResources();
  let pool: Pool;

  beforeAll(async () => {
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
  });
  afterAll(() => resources.cleanup());

  const entry = (partition: number, epoch: number, nextOffset: number, windows: number) => ({
    partition,
    epoch,
    nextOffset,
    state: JSON.stringify({ windows }),
    maxEventTime: 1_000 * nextOffset,
  });

  it('restores what the holder of the current epoch wrote', async () => {
    const store = new CheckpointStore(pool, 'g-restore', 'metrics-raw');
    expect(await store.claim([0, 1])).toEqual([
      { partition: 0, epoch: 1, nextOffset: null, state: null },
      { partition: 1, epoch: 1, nextOffset: null, state: null },
    ]);
    await inTransaction(pool, (tx) => store.write(tx, [entry(0, 1, 42, 3)]));
    const [restored] = await store.claim([0]);
    expect(restored).toEqual({ partition: 0, epoch: 2, nextOffset: 42, state: { windows: 3 } });
  });

  it('refuses a checkpoint from a member whose epoch was superseded, and rolls back the whole transaction', async () => {
    const store = new CheckpointStore(pool, 'g-fence', 'metrics-raw');
    const [stale] = await store.claim([0]);
    await store.claim([1]);
    const [fresh] = await store.claim([0]); // a newer assignment of partition 0
    await inTransaction(pool, (tx) => store.write(tx, [entry(0, fresh?.epoch ?? 0, 10, 1)]));

    const attempt = inTransaction(pool, async (tx) => {
      await tx.client.query(
        `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination) VALUES ('alert', 'x', 'T', '{}', 'kafka:alerts')`,
      );
      await store.write(tx, [entry(0, stale?.epoch ?? 0, 99, 7), entry(1, 1, 5, 1)]);
    });
    await expect(attempt).rejects.toEqual(new FencedError([0]));

    const { rows } = await pool.query(
      `SELECT partition, next_offset, state FROM alerter_checkpoints WHERE group_id = 'g-fence' ORDER BY partition`,
    );
    expect(rows).toEqual([
      { partition: 0, next_offset: '10', state: { windows: 1 } },
      { partition: 1, next_offset: null, state: null },
    ]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = 'x'`)).rows[0].n).toBe(0);
  });

  it('rewinds to the newest savepoint at or before the target offset, keeps a checkpoint not read that far, or starts fresh at the target', async () => {
    const store = new CheckpointStore(pool, 'g-rewind', 'metrics-raw');
    await store.claim([0, 1]);
    for (const [offset, windows] of [
      [100, 1],
      [200, 2],
      [300, 3],
    ] as const) {
      await inTransaction(pool, async (tx) => {
        await store.write(tx, [entry(0, 1, offset, windows)]);
        await store.savepoint(tx, [entry(0, 1, offset, windows)], 3_600_000);
      });
    }
    await store.claim([2]);
    await inTransaction(pool, (tx) => store.write(tx, [entry(2, 1, 30, 9)]));
    const plan = await store.planRewind([
      { partition: 0, offset: 250 },
      { partition: 1, offset: 40 },
      { partition: 2, offset: 70 }, // the group is behind the target here
    ]);
    expect(plan).toEqual([
      {
        partition: 0,
        targetOffset: 250,
        savepoint: { source: 'savepoint', nextOffset: 200, takenAt: expect.any(String), maxEventTime: 200_000 },
      },
      { partition: 1, targetOffset: 40, savepoint: null },
      {
        partition: 2,
        targetOffset: 70,
        savepoint: { source: 'checkpoint', nextOffset: 30, takenAt: expect.any(String), maxEventTime: 30_000 },
      },
    ]);
    expect(await store.applyRewind(plan)).toEqual([
      { partition: 0, offset: 200 },
      { partition: 1, offset: 40 },
      { partition: 2, offset: 30 },
    ]);
    expect(await store.claim([0, 1, 2])).toEqual([
      { partition: 0, epoch: 3, nextOffset: 200, state: { windows: 2 } },
      { partition: 1, epoch: 3, nextOffset: 40, state: null },
      { partition: 2, epoch: 3, nextOffset: 30, state: { windows: 9 } },
    ]);
  });
});
