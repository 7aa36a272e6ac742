import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { kafkaEnv, postgresEnv, serviceEnv, sqsEnv } from './schemas';

const schema = z.object({ ...serviceEnv, ...kafkaEnv, ...sqsEnv, ...postgresEnv });
const valid = {
  KAFKA_BROKERS: 'kafka:9092, kafka-2:9092',
  AWS_REGION: 'us-east-1',
  SQS_ENDPOINT: 'http://elasticmq:9324',
  DATABASE_URL: 'postgres://u:p@db:5432/app',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('parses a valid environment into typed values with defaults', () => {
    const config = loadConfig(schema, { ...valid, HTTP_PORT: '8080' });
    expect(config.KAFKA_BROKERS).toEqual(['kafka:9092', 'kafka-2:9092']);
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.DATABASE_POOL_SIZE).toBe(10);
  });

  it('names a missing required variable', () => {
    const { KAFKA_BROKERS: _omitted, ...env } = valid;
    expect(problemsOf(env)).toEqual(['KAFKA_BROKERS is required']);
  });

  it('treats an empty value as unset', () => {
    expect(problemsOf({ ...valid, AWS_REGION: '' })).toEqual(['AWS_REGION is required']);
  });

  it('names every malformed variable at once, with the value it got', () => {
    const problems = problemsOf({ ...valid, HTTP_PORT: 'http', DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'kafka' });
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('HTTP_PORT'))).toContain('"http"');
    expect(problems.find((p) => p.startsWith('DATABASE_URL'))).toContain('postgres');
    expect(problems.find((p) => p.startsWith('KAFKA_BROKERS'))).toContain('host:port');
  });

  it('puts every problem in the error message', () => {
    expect(() => loadConfig(schema, {})).toThrow(/KAFKA_BROKERS is required[\s\S]*AWS_REGION is required[\s\S]*DATABASE_URL is required/);
  });
});
