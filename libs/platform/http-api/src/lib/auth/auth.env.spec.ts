import { generateKeyPairSync } from 'node:crypto';
import { loadConfig, z } from '@qls/config';
import { authEnv, jwtSettings } from './auth.env';

const schema = z.object(authEnv);
const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const valid = { AUTH_JWT_PUBLIC_KEYS: publicKey, AUTH_JWT_ISSUER: 'https://auth.example', AUTH_JWT_AUDIENCE: 'some-api' };

describe('authEnv', () => {
  it('reads the keys, allows RS256 and ES256 by default, and gives the verifier its settings', () => {
    const config = loadConfig(schema, valid);
    expect(config).toMatchObject({
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
      AUTH_JWT_PUBLIC_KEYS: { keys: [expect.objectContaining({ kty: 'EC', crv: 'P-256' })] },
    });
    expect(jwtSettings(config)).toEqual({
      keys: config.AUTH_JWT_PUBLIC_KEYS,
      issuer: 'https://auth.example',
      audience: 'some-api',
      algorithms: ['RS256', 'ES256'],
    });
  });

  it('requires the keys, and names a key variable that holds no usable public key', () => {
    const { AUTH_JWT_PUBLIC_KEYS: _keys, ...noKeys } = valid;
    expect(() => loadConfig(schema, noKeys)).toThrow(/- AUTH_JWT_PUBLIC_KEYS is required$/m);
    expect(() => loadConfig(schema, { ...valid, AUTH_JWT_PUBLIC_KEYS: '{"kty":"oct","k":"c2VjcmV0"}' })).toThrow(
      /- AUTH_JWT_PUBLIC_KEYS: key 0 is a symmetric key/,
    );
  });

  it('refuses HMAC and unknown algorithms', () => {
    expect(() => loadConfig(schema, { ...valid, AUTH_JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(
      /- AUTH_JWT_ALGORITHMS\.1: expected a comma-separated list of RS256/,
    );
  });
});
