-- Transactional outbox (chapter Part 6B; docs/adr/0004-outbox-claiming-by-bucket.md).
-- Writers insert here in the same transaction as their business rows; the
-- outbox relay publishes pending rows to Kafka or SQS and marks them published.

CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  -- Consumers dedupe on this; it travels as the `event-id` header / attribute.
  event_id        uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  aggregate_type  text NOT NULL,
  aggregate_id    text NOT NULL,
  event_type      text NOT NULL,
  payload         jsonb NOT NULL,
  -- `kafka:<topic>` or `sqs:<queue name>`.
  destination     text NOT NULL CHECK (destination ~ '^(kafka|sqs):.+$'),
  -- Kafka key / SQS FIFO group; NULL means the aggregate id.
  message_key     text,
  -- W3C traceparent of the writing request, and anything else to carry.
  headers         jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
  last_error      text,
  -- Set when a row keeps failing: it stops being retried until someone retries it by command.
  parked_at       timestamptz,
  -- The unit of claiming: every row of an aggregate lands in the same one of
  -- 64 buckets, and one relay at a time holds a bucket, so an aggregate's
  -- events are published in id order however many relays run.
  bucket          smallint NOT NULL GENERATED ALWAYS AS ((hashtextextended(aggregate_type || '/' || aggregate_id, 0) & 63)::smallint) STORED
);

-- Pending rows per bucket in id order: the relay's claim reads this index only.
CREATE INDEX outbox_pending_idx ON outbox (bucket, id) WHERE published_at IS NULL AND parked_at IS NULL;
-- Rows backing off after a failure hold back later rows of their aggregate.
CREATE INDEX outbox_failing_idx ON outbox (aggregate_type, aggregate_id, id)
  WHERE attempts > 0 AND published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_parked_idx ON outbox (id) WHERE parked_at IS NOT NULL;

-- One row per bucket; relays lock these with FOR UPDATE SKIP LOCKED.
CREATE TABLE outbox_buckets (bucket smallint PRIMARY KEY);
INSERT INTO outbox_buckets SELECT generate_series(0, 63);

-- Wake the relays when a writer commits (notifications are delivered on
-- commit and dropped on rollback). Once per statement, not per row.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
