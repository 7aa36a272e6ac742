import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

const config = configUnderTest(configSchema, { ...sampleEnv.postgres, ...sampleEnv.redis, ...sampleEnv.userAuth('notification-api') });

describe('notification-api config', () => {
  it('applies the documented defaults', () => {
    expect(config.load()).toMatchObject({
      HTTP_BODY_LIMIT_BYTES: 65_536,
      RATE_LIMIT_PER_SECOND: 10,
      RATE_LIMIT_BURST: 20,
      NOTIFICATIONS_QUEUE: 'notifications',
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
      AUTH_JWT_PUBLIC_KEYS: { keys: [expect.objectContaining({ kty: 'EC', crv: 'P-256' })] },
    });
  });

  it('accepts a fractional rate and refuses a zero burst', () => {
    expect(config.load({ RATE_LIMIT_PER_SECOND: '0.5' }).RATE_LIMIT_PER_SECOND).toBe(0.5);
    expect(() => config.load({ RATE_LIMIT_BURST: '0' })).toThrow(/- RATE_LIMIT_BURST: /);
  });
});
