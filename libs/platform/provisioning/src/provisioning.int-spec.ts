import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { TestResources, uniqueName } from '@qls/testing';
import { migrate, provision, provisionQueues, provisionTopics, readMigrations, readTopology } from './index';

describe('provisioning (real Postgres, Kafka, ElasticMQ)', () => {
  let resources: TestResources;

  beforeEach(() => {
    resources = new TestResources();
  });

  afterEach(() => resources.cleanup());

  function migrationsDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
    return dir;
  }

  async function admin() {
    const kafkaAdmin = resources.kafka.admin();
    await kafkaAdmin.connect();
    resources.onCleanup(() => kafkaAdmin.disconnect());
    return kafkaAdmin;
  }

  it('applies migrations once, in order, and refuses an edited one', async () => {
    const { pool } = await resources.postgres();
    const dir = migrationsDir({ '0002_add.sql': 'ALTER TABLE t ADD COLUMN b int;', '0001_create.sql': 'CREATE TABLE t (a int);' });

    expect(await migrate(pool, readMigrations(dir))).toEqual({ applied: ['0001_create.sql', '0002_add.sql'], alreadyApplied: [] });
    expect(await migrate(pool, readMigrations(dir))).toEqual({ applied: [], alreadyApplied: ['0001_create.sql', '0002_add.sql'] });
    const { rows } = await pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 't' AND table_schema = current_schema() ORDER BY 1",
    );
    expect(rows.map((r) => r.column_name)).toEqual(['a', 'b']);

    writeFileSync(join(dir, '0001_create.sql'), 'CREATE TABLE t (a bigint);');
    await expect(migrate(pool, readMigrations(dir))).rejects.toThrow('migration 0001_create.sql changed after it was applied');
  });

  it('rolls back a failing migration with its bookkeeping row', async () => {
    const { pool } = await resources.postgres();
    const dir = migrationsDir({ '0001_half.sql': 'CREATE TABLE half (a int); SELECT * FROM no_such_table;' });
    await expect(migrate(pool, readMigrations(dir))).rejects.toThrow(/0001_half\.sql failed: .*no_such_table/);
    const { rows } = await pool.query("SELECT to_regclass('half') AS t, (SELECT count(*)::int FROM schema_migrations) AS n");
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });

  it('creates topics, then grows partitions and updates retention, and leaves converged topics alone', async () => {
    const kafkaAdmin = await admin();
    const name = uniqueName('provisioned');
    resources.onCleanup(() => kafkaAdmin.deleteTopics({ topics: [name] }));

    expect(await provisionTopics(kafkaAdmin, [{ name, partitions: 2, retentionHours: 1 }])).toEqual([
      { topic: name, action: 'created', detail: '2 partitions' },
    ]);
    expect(await provisionTopics(kafkaAdmin, [{ name, partitions: 2, retentionHours: 1 }])).toEqual([{ topic: name, action: 'unchanged' }]);
    expect(await provisionTopics(kafkaAdmin, [{ name, partitions: 3, retentionHours: 2 }])).toEqual([
      { topic: name, action: 'partitions-increased', detail: '2 → 3' },
      { topic: name, action: 'config-updated', detail: 'retention.ms 3600000 → 7200000' },
    ]);
    const metadata = await kafkaAdmin.fetchTopicMetadata({ topics: [name] });
    expect(metadata.topics[0].partitions).toHaveLength(3);
    await expect(provisionTopics(kafkaAdmin, [{ name, partitions: 1, retentionHours: 2 }])).rejects.toThrow(
      'Kafka cannot reduce partitions',
    );
  });

  it('creates a queue with its DLQ and RedrivePolicy, and updates attributes in place', async () => {
    const name = uniqueName('provisioned');
    const spec = { name, visibilityTimeoutSeconds: 30, retentionSeconds: 3600, deadLetter: { maxReceiveCount: 3 } };
    const first = await provisionQueues(resources.sqs, [spec]);
    expect(first.map((c) => [c.queue, c.action])).toEqual([
      [`${name}-dlq`, 'created'],
      [name, 'created'],
    ]);
    expect((await provisionQueues(resources.sqs, [spec])).map((c) => c.action)).toEqual(['unchanged', 'unchanged']);
    expect((await provisionQueues(resources.sqs, [{ ...spec, visibilityTimeoutSeconds: 45 }])).map((c) => c.action)).toEqual([
      'unchanged',
      'attributes-updated',
    ]);

    const { Attributes } = await resources.sqs.send(new GetQueueAttributesCommand({ QueueUrl: first[1].url, AttributeNames: ['All'] }));
    expect(Attributes?.VisibilityTimeout).toBe('45');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      maxReceiveCount: 3,
      deadLetterTargetArn: expect.stringContaining(`${name}-dlq`),
    });
  });

  it('provisions the project topology idempotently: a second run changes nothing', async () => {
    const { pool } = await resources.postgres();
    const topology = readTopology(join(__dirname, '../../../../infra/provision/topology.json'));
    const migrations = join(__dirname, '../../../../infra/migrations');
    const targets = { pool, kafka: resources.kafka, sqs: resources.sqs };

    await provision(targets, topology, migrations);
    const second = await provision(targets, topology, migrations);

    expect(second.migrations.applied).toEqual([]);
    expect(second.topics).toEqual(topology.topics.map((t) => ({ topic: t.name, action: 'unchanged' })));
    expect(second.queues.map((q) => [q.queue, q.action])).toEqual([
      ['notifications-dlq', 'unchanged'],
      ['notifications', 'unchanged'],
      ['notifications-dlq.fifo', 'unchanged'],
      ['notifications.fifo', 'unchanged'],
      ['fan-out-tasks-dlq', 'unchanged'],
      ['fan-out-tasks', 'unchanged'],
    ]);
  });
});
