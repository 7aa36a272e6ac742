-- System 1: notifications (docs/adr/0005-notifications-on-a-queue.md).
-- The API writes a row here and an outbox row in one transaction; the worker
-- moves it through queued → sending → sent | failed | dead_lettered.

CREATE TABLE notifications (
  id              uuid PRIMARY KEY,
  user_id         text NOT NULL,
  -- The caller's Idempotency-Key (or the notification id): a repeat returns the first result.
  idempotency_key text NOT NULL,
  channel         text NOT NULL CHECK (channel IN ('push', 'email', 'sms')),
  template        text NOT NULL,
  data            jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dead_lettered')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  -- The durable fence: a worker may send only while it holds an unexpired lease
  -- (Redis can lose a lease; this row cannot). `lease_token` is the fencing token.
  lease_token     uuid,
  lease_until     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);

-- Every call the local providers received, so tests and benchmarks can count
-- sends per notification. Like a real provider they honour the idempotency
-- key: a repeated key is recorded with `duplicate` set and not delivered again.
CREATE TABLE provider_sends (
  id              bigserial PRIMARY KEY,
  notification_id uuid NOT NULL,
  channel         text NOT NULL,
  idempotency_key text NOT NULL,
  duplicate       boolean NOT NULL,
  payload         jsonb NOT NULL,
  accepted_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX provider_sends_delivered_idx ON provider_sends (channel, idempotency_key) WHERE NOT duplicate;
CREATE INDEX provider_sends_notification_idx ON provider_sends (notification_id);
