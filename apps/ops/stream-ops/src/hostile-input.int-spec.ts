import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { answerOf, errorShape, listenLocally, operatorTokens, suiteResources, uniqueName, unknownRouteAnswers } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init?: RequestInit) => (await ops).fetch(url, init);

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a replay time that
 * `Date` or Kafka would refuse is a 400 naming the field, never a 500 — on a
 * real topic and group, where the old code reached Kafka with it.
 */
describe('stream-ops answers hostile replay requests with 400 (in process, real Kafka)', () => {
  const service = 'stream-ops';
  const suite = suiteResources();
  let app: INestApplication;
  let replay: string;
  let topic: string;

  beforeAll(async () => {
    const { resources } = suite;
    const admin = await resources.kafkaAdmin();
    topic = await resources.topic('stream-ops-hostile', 1);
    await resources.produce(topic, [{ value: 'r0' }, { value: 'r1' }]);
    const groupId = uniqueName('alerting');
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });
    const config = loadConfig(configSchema, { ...process.env, ...(await ops).env, LOG_LEVEL: 'silent' });
    app = await createJsonHttpApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
    });
    resources.onCleanup(() => app.close());
    replay = `${await listenLocally(app)}/groups/${groupId}/replay`;
  });

  it.each([
    // As sent on the wire: JSON text, so 9007199254740993 arrives as the client wrote it.
    ['minutesAgo 9007199254740993', '"minutesAgo": 9007199254740993', 'minutesAgo'],
    ['minutesAgo 1e23', '"minutesAgo": 1e23', 'minutesAgo'],
    ['minutesAgo 1e300', '"minutesAgo": 1e300', 'minutesAgo'],
    ['minutesAgo reaching before 1970', `"minutesAgo": ${60 * 24 * 365 * 80}`, 'minutesAgo'],
    ['timestamp 0001-01-01', '"timestamp": "0001-01-01T00:00:00Z"', 'timestamp'],
    ['timestamp 1969-12-31', '"timestamp": "1969-12-31T23:59:59Z"', 'timestamp'],
    ['timestamp on February 30th', '"timestamp": "2026-02-30T00:00:00Z"', 'timestamp'],
  ])('answers %s with 400 naming the field', async (_what, member, field) => {
    const response = await fetch(replay, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{ "topic": ${JSON.stringify(topic)}, ${member} }`,
    });

    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { code: 'REQUEST.INVALID', message: expect.stringMatching(new RegExp(`^${field}: `)) } },
    });
  });

  it('still plans a replay from a sane time', async () => {
    const response = await fetch(replay, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic, minutesAgo: 5 }),
    });
    expect(response.status).toBe(200);
  });

  it('answers a bad request and an unknown route in the one error shape, { error: { code, message } }', async () => {
    expect(
      await answerOf(await fetch(replay, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"minutes_ago": 5}' })),
    ).toEqual(errorShape(400, 'REQUEST.INVALID'));
    expect(await unknownRouteAnswers(new URL(replay).origin, fetch)).toEqual([
      errorShape(404, 'NOT_FOUND'),
      errorShape(400, 'REQUEST.MALFORMED_JSON'),
    ]);
  });
});
