import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '@qls/config';
import { configSchema } from './config';

const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const valid = {
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  REDIS_URL: 'redis://redis:6379',
  AUTH_JWT_PUBLIC_KEYS: publicKey,
  AUTH_JWT_ISSUER: 'https://auth.example',
  AUTH_JWT_AUDIENCE: 'notification-api',
};

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

  it('accepts a fractional rate and refuses a zero burst', () => {
    expect(loadConfig(configSchema, { ...valid, RATE_LIMIT_PER_SECOND: '0.5' }).RATE_LIMIT_PER_SECOND).toBe(0.5);
    expect(() => loadConfig(configSchema, { ...valid, RATE_LIMIT_BURST: '0' })).toThrow(/- RATE_LIMIT_BURST: /);
  });
});
