import { TestResources, uniqueName, waitFor } from '../index';

/** What the chapter's designs rely on from Postgres and Redis, on the real local servers. */
describe('Postgres and Redis (real servers)', () => {
  let resources: TestResources;

  beforeEach(() => {
    resources = new TestResources();
  });

  afterEach(() => resources.cleanup());

  it('FOR UPDATE SKIP LOCKED hands disjoint rows to two clients claiming at once', async () => {
    const { pool } = await resources.postgres();
    await pool.query('CREATE TABLE work (id bigserial PRIMARY KEY, claimed_by text)');
    await pool.query('INSERT INTO work (claimed_by) SELECT NULL FROM generate_series(1, 100)');
    const [a, b] = [await resources.client(pool), await resources.client(pool)];
    const claim = 'SELECT id FROM work WHERE claimed_by IS NULL ORDER BY id LIMIT 30 FOR UPDATE SKIP LOCKED';

    await a.query('BEGIN');
    await b.query('BEGIN');
    const rowsA = (await a.query<{ id: string }>(claim)).rows.map((r) => r.id);
    // B does not wait for A's locks: it skips them and gets the next rows.
    const rowsB = (await b.query<{ id: string }>(claim)).rows.map((r) => r.id);
    await a.query(`UPDATE work SET claimed_by = 'a' WHERE id = ANY($1)`, [rowsA]);
    await b.query(`UPDATE work SET claimed_by = 'b' WHERE id = ANY($1)`, [rowsB]);
    await a.query('COMMIT');
    await b.query('COMMIT');

    expect(rowsA).toHaveLength(30);
    expect(rowsB).toHaveLength(30);
    expect(rowsA.filter((id) => rowsB.includes(id))).toEqual([]);
    const { rows } = await pool.query<{ claimed_by: string; n: number }>(
      'SELECT claimed_by, count(*)::int AS n FROM work GROUP BY claimed_by ORDER BY claimed_by',
    );
    expect(rows).toEqual([
      { claimed_by: 'a', n: 30 },
      { claimed_by: 'b', n: 30 },
      { claimed_by: null, n: 40 },
    ]);
  });

  it('SET NX PX grants a lease to one holder only, until it expires', async () => {
    const redis = resources.redis();
    const key = uniqueName('lease');
    expect(await redis.set(key, 'worker-1', 'PX', 300, 'NX')).toBe('OK');
    expect(await redis.set(key, 'worker-2', 'PX', 300, 'NX')).toBeNull();
    expect(await redis.get(key)).toBe('worker-1');

    await waitFor(async () => (await redis.set(key, 'worker-2', 'PX', 300, 'NX')) === 'OK', {
      timeoutMs: 5_000,
      description: 'the lease to expire',
    });
    expect(await redis.get(key)).toBe('worker-2');
    await redis.del(key);
  });
});
