-- Issue 11: a notification is dead-lettered after 3 failed provider attempts
-- (docs/adr/0005-notifications-on-a-queue.md), counted here, durably, per
-- notification: crashes, lease waits and shutdowns cost SQS receives but never
-- a provider attempt. `attempts` keeps counting the claims (every try to send).
ALTER TABLE notifications ADD COLUMN provider_failures integer NOT NULL DEFAULT 0;

-- The worker's reconciler finds rows whose lease ran out, or that wait for a
-- retry, without scanning the sent ones.
CREATE INDEX notifications_unsettled_idx ON notifications (updated_at) WHERE status IN ('sending', 'failed');
