import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopology } from './topology';

describe('readTopology', () => {
  it('reads the project topology: the six topics and the queues, each with a DLQ (notifications: 10 receives, a safety net)', () => {
    const topology = readTopology(join(__dirname, '../../../../../infra/provision/topology.json'));
    expect(topology.topics.map((t) => t.name)).toEqual([
      'metrics-raw', // drop-system: metrics
      'metrics-late', // drop-system: metrics
      'metrics-dead-letter', // drop-system: metrics
      'alerts', // drop-system: metrics
      'posts', // drop-system: feeds
      'posts-dead-letter', // drop-system: feeds
    ]);
    expect(topology.queues.map((q) => [q.name, q.deadLetter?.maxReceiveCount])).toEqual([
      ['notifications', 10], // drop-system: notifications
      ['notifications.fifo', 10], // drop-system: notifications
      ['fan-out-tasks', 3], // drop-system: feeds
    ]);
  });

  it('names the file and the field that is wrong', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'topology-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ topics: [{ name: 'bad topic!', partitions: 0, retentionHours: 1 }], queues: [] }));
    expect(() => readTopology(file)).toThrow(/bad\.json: topics\.0\.name: not a valid Kafka topic name; topics\.0\.partitions/);
  });
});
