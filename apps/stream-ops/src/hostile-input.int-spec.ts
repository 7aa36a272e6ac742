import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import { loadConfig } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { createLogger } from '@qls/observability';
import { TestResources, operatorTokens, uniqueName } from '@qls/testing';
import { AppModule } from './app.module';
import { configSchema } from './config';

/** The operator key the app trusts: every request here is an operator's with both scopes (operator-auth.int-spec.ts checks refusals). */
const ops = operatorTokens();
const fetch = async (url: string, init: RequestInit = {}): Promise<Response> =>
  globalThis.fetch(url, {
    ...init,
    headers: { ...(await (await ops).headers()), ...(init.headers as Record<string, string> | undefined) },
  });

/**
 * Hostile input (docs/contracts.md, "Hostile input"): a replay time that
 * `Date` or Kafka would refuse is a 400 naming the field, never a 500 — on a
 * real topic and group, where the old code reached Kafka with it.
 */
describe('stream-ops answers hostile replay requests with 400 (in process, real Kafka)', () => {
  const service = 'stream-ops';
  let resources: TestResources;
  let admin: Admin;
  let app: INestApplication;
  let replay: string;
  let topic: string;

  beforeAll(async () => {
    resources = new TestResources();
    admin = resources.kafka.admin();
    await admin.connect();
    resources.onCleanup(() => admin.disconnect());
    topic = await resources.topic('stream-ops-hostile', 1);
    const producer = resources.kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'r0' }, { value: 'r1' }] }).finally(() => producer.disconnect());
    const groupId = uniqueName('alerting');
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });
    const config = loadConfig(configSchema, { ...process.env, ...(await ops).env, LOG_LEVEL: 'silent' });
    app = await createJsonHttpApp(AppModule.register({ config, service, logger: createLogger({ service, level: 'silent' }) }), {
      bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
    });
    await app.listen(0, '127.0.0.1');
    replay = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/groups/${groupId}/replay`;
  });

  afterAll(async () => {
    await app?.close();
    await resources?.cleanup();
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
    const answer = async (response: Response) => ({ status: response.status, body: await response.json() });
    const shape = (status: number, code: string) => ({ status, body: { error: { code, message: expect.any(String) } } });

    expect(
      await answer(await fetch(replay, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"minutes_ago": 5}' })),
    ).toEqual(shape(400, 'REQUEST.INVALID'));
    expect(await answer(await fetch(`${new URL(replay).origin}/nowhere`))).toEqual(shape(404, 'NOT_FOUND'));
    expect(
      await answer(
        await fetch(`${new URL(replay).origin}/nowhere`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a": ',
        }),
      ),
    ).toEqual(shape(400, 'REQUEST.MALFORMED_JSON'));
  });
});
