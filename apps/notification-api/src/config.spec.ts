import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '@qls/config';
import { configSchema } from './config';

const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const valid = {
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  REDIS_URL: 'redis://redis:6379',
  AUTH_JWT_PUBLIC_KEYS: publicKey,
  AUTH_JWT_ISSUER: 'https://auth.example',
  AUTH_JWT_AUDIENCE: 'notification-api',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('notification-api config', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(configSchema, valid)).toMatchObject({
      HTTP_BODY_LIMIT_BYTES: 65_536,
      RATE_LIMIT_PER_SECOND: 10,
      RATE_LIMIT_BURST: 20,
      NOTIFICATIONS_QUEUE: 'notifications',
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
      AUTH_JWT_PUBLIC_KEYS: { keys: [expect.objectContaining({ kty: 'EC', crv: 'P-256' })] },
    });
  });

  it('names a key variable that holds no usable public key', () => {
    const [problem] = problemsOf({ ...valid, AUTH_JWT_PUBLIC_KEYS: '{"kty":"oct","k":"c2VjcmV0"}' });
    expect(problem).toMatch(/^AUTH_JWT_PUBLIC_KEYS: key 0 is a symmetric key/);
  });

  it('refuses HMAC and unknown algorithms', () => {
    expect(problemsOf({ ...valid, AUTH_JWT_ALGORITHMS: 'RS256,HS256' })[0]).toMatch(
      /^AUTH_JWT_ALGORITHMS\.1: expected a comma-separated list of RS256/,
    );
  });

  it('accepts a fractional rate and refuses a zero burst', () => {
    expect(loadConfig(configSchema, { ...valid, RATE_LIMIT_PER_SECOND: '0.5' }).RATE_LIMIT_PER_SECOND).toBe(0.5);
    expect(problemsOf({ ...valid, RATE_LIMIT_BURST: '0' })[0]).toMatch(/^RATE_LIMIT_BURST: /);
  });
});
