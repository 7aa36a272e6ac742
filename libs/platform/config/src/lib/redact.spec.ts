import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { postgresEnv, redisEnv } from './schemas';

const SECRET = 'SUPER-SECRET-PW';

function messageOf(schema: z.ZodObject, env: Record<string, string>): string {
  try {
    loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return `${error.message}\n${error.problems.join('\n')}`;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors never echo secrets', () => {
  it('an invalid DATABASE_URL is named with its user and host but not its password', () => {
    const message = messageOf(z.object(postgresEnv), { DATABASE_URL: `mysql://qls:${SECRET}@db.internal:3306/qls` });
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('mysql://qls:***@db.internal:3306/qls');
    expect(message).not.toContain(SECRET);
  });

  it('a password in any URL-shaped value is redacted, in the userinfo or as a query parameter', () => {
    const schema = z.object({ ...redisEnv, UPSTREAM: z.url({ protocol: /^https$/ }), DSN: z.string().max(3) });
    const message = messageOf(schema, {
      REDIS_URL: `http://:${SECRET}@cache:6379`,
      UPSTREAM: `http://svc:${SECRET}@api.example/path?access_token=${SECRET}x`,
      DSN: `host=db user=qls password=${SECRET}`,
    });
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('UPSTREAM');
    expect(message).toContain('DSN');
    expect(message).not.toContain(SECRET);
  });

  it("a private JWK's members (d, p, q, dp, dq, qi) and a symmetric key's k are redacted", () => {
    const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    const secrets = ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((member) => String(jwk[member as keyof typeof jwk]));
    const schema = z.object({ KEYS: z.string().refine(() => false, 'is a private key') });
    const message = messageOf(schema, { KEYS: JSON.stringify({ keys: [jwk, { kty: 'oct', k: `${SECRET}k` }] }) });
    expect(message).toContain('KEYS: is a private key');
    expect(message).toContain(String(jwk.n)); // the public modulus is not a secret
    for (const secret of [...secrets, SECRET]) expect(message).not.toContain(secret);
  });

  it('anything under a key named like secret, password or token is redacted, nested or not', () => {
    const schema = z.object({ SETTINGS: z.string().refine(() => false, 'is wrong') });
    const message = messageOf(schema, {
      SETTINGS: JSON.stringify({
        db: { password: `${SECRET}1` },
        clientSecret: { value: `${SECRET}2` },
        apiToken: 12345678901,
        name: 'kept',
      }),
    });
    expect(message).toContain('"name":"kept"');
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('12345678901');
  });

  it('private members are redacted in JSON that does not parse, too', () => {
    const schema = z.object({ KEYS: z.string().refine(() => false, 'does not parse') });
    const message = messageOf(schema, { KEYS: `{"kty":"EC","d":"${SECRET}d","x":"pub", "secret": {"a": 1}, "password": 42,` });
    expect(message).toContain('"x":"pub"');
    expect(message).not.toContain(SECRET);
    expect(message).not.toMatch(/"a": 1|42/);
  });

  it('a PEM private key is redacted', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const body = pem.split('\n')[1];
    const message = messageOf(z.object({ KEYS: z.string().max(10) }), { KEYS: pem });
    expect(message).toContain('PRIVATE KEY');
    expect(message).not.toContain(body);
  });

  it('the value of a variable named like a secret is never echoed', () => {
    const message = messageOf(z.object({ AWS_SECRET_ACCESS_KEY: z.string().max(3), DB_PASSWORD: z.string().max(3) }), {
      AWS_SECRET_ACCESS_KEY: `${SECRET}a`,
      DB_PASSWORD: `${SECRET}b`,
    });
    expect(message).toContain('AWS_SECRET_ACCESS_KEY');
    expect(message).toContain('DB_PASSWORD');
    expect(message).not.toContain(SECRET);
  });
});
