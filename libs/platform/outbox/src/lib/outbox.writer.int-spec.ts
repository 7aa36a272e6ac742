import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import type { Pool } from 'pg';
import { startTestTelemetry } from '@qls/observability/testing';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources } from '@qls/testing';
import { type OutboxEvent, enqueue, inTransaction } from './outbox.writer';

describe('enqueue (real Postgres)', () => {
  let resources: TestResources;
  let pool: Pool;

  beforeEach(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(join(__dirname, '../../../../../infra/migrations')));
  });

  afterEach(() => resources.cleanup());

  it("stamps each row with its event's trace context, and with the active one when the event names none", async () => {
    const telemetry = startTestTelemetry();
    try {
      const tracer = trace.getTracer('test');
      // Two requests whose events one writer puts in a single transaction, run in a third context.
      const [a, b] = [tracer.startSpan('request a'), tracer.startSpan('request b')];
      const event = (aggregateId: string, extra: Partial<OutboxEvent> = {}): OutboxEvent => ({
        aggregateType: 'thing',
        aggregateId,
        eventType: 'ThingHappened.v1',
        payload: {},
        destination: { kafka: 'things' },
        ...extra,
      });
      let active = '';
      await tracer.startActiveSpan('batch', async (batch) => {
        active = batch.spanContext().traceId;
        await inTransaction(pool, (tx) =>
          enqueue(tx, [
            event('a', { context: trace.setSpan(context.active(), a) }),
            event('b', { context: trace.setSpan(context.active(), b) }),
            event('c'),
          ]),
        );
        batch.end();
      });

      const { rows } = await pool.query<{ aggregate_id: string; traceparent: string }>(
        "SELECT aggregate_id, headers->>'traceparent' AS traceparent FROM outbox ORDER BY id",
      );
      expect(rows.map((row) => [row.aggregate_id, row.traceparent.split('-')[1]])).toEqual([
        ['a', a.spanContext().traceId],
        ['b', b.spanContext().traceId],
        ['c', active],
      ]);
      expect(new Set([a.spanContext().traceId, b.spanContext().traceId, active]).size).toBe(3);
    } finally {
      await telemetry.shutdown();
    }
  });
});
