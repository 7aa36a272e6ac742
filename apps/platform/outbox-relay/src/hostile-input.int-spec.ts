import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import {
  type OperatorTokens,
  answerOf,
  errorShape,
  listenLocally,
  operatorTokens,
  suiteSchema,
  uniqueName,
  unknownRouteAnswers,
} from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/**
 * Hostile input (docs/contracts.md, "Hostile input"): an outbox row id that
 * Postgres's bigint cannot hold is a 400 naming `ids`, never a 500. The app
 * runs in this process against a schema of the test's own.
 */
describe('outbox-relay answers hostile retry requests with 400 (in process, real Postgres)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let retry: string;
  let ops: OperatorTokens;

  beforeAll(async () => {
    ops = await operatorTokens();
    const config = loadConfig(configSchema, { ...process.env, ...ops.env, DATABASE_URL: db.databaseUrl, LOG_LEVEL: 'silent' });
    const service = uniqueName('outbox-relay');
    const app: INestApplication = await createJsonHttpApp(
      AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }),
      { bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES },
    );
    db.resources.onCleanup(() => app.close());
    retry = `${await listenLocally(app)}/outbox/parked/retry`;
  });

  const post = async (body: string) => fetch(retry, { method: 'POST', headers: await ops.headers(), body });

  it.each([
    ['an id beyond bigint', '{"ids": ["99999999999999999999"]}'],
    ['an id one past the largest bigint', '{"ids": ["9223372036854775808"]}'],
    ['an id of 10,000 digits', `{"ids": ["${'9'.repeat(10_000)}"]}`],
    ['id 0', '{"ids": ["0"]}'],
    ['a numeric id', '{"ids": [12]}'],
  ])('answers %s with 400 naming ids', async (_what, body) => {
    const response = await post(body);
    const text = await response.text();

    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'REQUEST.INVALID', message: expect.stringMatching(/^ids/) } });
    expect(text.length).toBeLessThan(500);
  });

  it('still retries the parked row it is given', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, destination, parked_at)
       VALUES ('thing', 't-1', 'ThingHappened.v1', '{}', 'sqs:${uniqueName('nowhere')}', now()) RETURNING id`,
    );

    const response = await post(JSON.stringify({ ids: [rows[0]?.id, '9223372036854775807'] }));

    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { retried: 1 } });
  });

  it('answers a bad request and an unknown route in the one error shape, { error: { code, message } }', async () => {
    expect(await answerOf(await post('{"ids": ["0"]}'))).toEqual(errorShape(400, 'REQUEST.INVALID'));
    expect(await unknownRouteAnswers(new URL(retry).origin)).toEqual([
      errorShape(404, 'NOT_FOUND'),
      errorShape(400, 'REQUEST.MALFORMED_JSON'),
    ]);
  });
});
