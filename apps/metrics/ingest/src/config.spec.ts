import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.kafka, ...sampleEnv.userAuth('metrics-ingest') });

describe('metrics-ingest config', () => {
  it('applies the documented defaults', () => {
    expect(config.load()).toMatchObject({
      HTTP_PORT: 3000,
      HTTP_BODY_LIMIT_BYTES: 1_048_576,
      METRICS_RAW_TOPIC: 'metrics-raw',
      INGEST_MAX_POINTS_PER_REQUEST: 5_000,
      INGEST_LINGER_MS: 5,
      INGEST_COMPRESSION: 'gzip',
      ALERTING_GROUP_ID: 'alerting',
      BACKPRESSURE_POLICY: 'throttle',
      BACKPRESSURE_LAG_THRESHOLD: 1_000_000,
      BACKPRESSURE_SAMPLE_RATE: 0.1,
      BACKPRESSURE_POLL_INTERVAL_MS: 5_000,
      BACKPRESSURE_RETRY_AFTER_SECONDS: 5,
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
    });
  });

  it('names a bad policy and a sample rate outside (0, 1]', () => {
    const loading = (env: Record<string, string>) => () => config.load(env);
    expect(loading({ BACKPRESSURE_POLICY: 'drop' })).toThrow(/- BACKPRESSURE_POLICY: expected one of throttle, sample/);
    expect(loading({ BACKPRESSURE_SAMPLE_RATE: '0' })).toThrow(/- BACKPRESSURE_SAMPLE_RATE: expected a fraction in \(0, 1\]/);
    expect(loading({ BACKPRESSURE_SAMPLE_RATE: '1.5' })).toThrow(/- BACKPRESSURE_SAMPLE_RATE: /);
  });
});
