import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.kafka, ...sampleEnv.postgres, ...sampleEnv.operatorAuth() });

describe('stream-ops config', () => {
  it('monitors the metrics pipeline groups every 15 s by default', () => {
    expect(config.load()).toMatchObject({
      LAG_GROUPS: [
        { groupId: 'storage', topic: 'metrics-raw' },
        { groupId: 'alerting', topic: 'metrics-raw' },
        { groupId: 'dashboard', topic: 'metrics-raw' },
      ],
      LAG_POLL_INTERVAL_MS: 15_000,
      LAG_WINDOW_SIZE: 10,
      LAG_STOP_AFTER_MS: 300_000,
      LAG_HOT_FACTOR: 10,
      LAG_HOT_MIN_LAG: 1_000,
      LAG_RETENTION_CRITICAL_RATIO: 0.5,
    });
  });

  it('names every bad variable', () => {
    expect(() =>
      config.load({
        LAG_GROUPS: 'storage:metrics-raw,alerting',
        LAG_WINDOW_SIZE: '1',
        LAG_RETENTION_CRITICAL_RATIO: '50',
      }),
    ).toThrow(
      [
        'Invalid configuration:',
        '  - LAG_GROUPS: "alerting" is not group:topic, got "storage:metrics-raw,alerting"',
        '  - LAG_WINDOW_SIZE: expected at least 2 (samples), got "1"',
        '  - LAG_RETENTION_CRITICAL_RATIO: expected a fraction of at most 1, got "50"',
      ].join('\n'),
    );
  });
});
