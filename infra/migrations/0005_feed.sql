-- System 3: feed fan-out (docs/adr/0009-three-tier-fan-out.md).
-- Users, the follow graph and posts are the database's; feeds are Redis caches
-- rebuilt from here or from the `posts` log (libs/feed-contracts RedisKeys).

CREATE TABLE feed_users (
  id             text PRIMARY KEY,
  handle         text NOT NULL UNIQUE,
  -- Maintained with follows in the same transaction: decides the fan-out tier.
  follower_count integer NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
  -- Only followers seen within the active period are pushed to; others are
  -- rebuilt on their first read.
  last_active_at timestamptz NOT NULL DEFAULT now(),
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Keyed by followee first: fan-out walks one author's followers in
-- follower-id order (keyset pagination: WHERE followee_id = $1 AND follower_id > $after).
CREATE TABLE follows (
  followee_id text NOT NULL REFERENCES feed_users (id),
  follower_id text NOT NULL REFERENCES feed_users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (followee_id, follower_id),
  CHECK (followee_id <> follower_id)
);
-- Who a user follows (read-time merge of celebrities, rebuilds).
CREATE INDEX follows_follower_idx ON follows (follower_id, followee_id);

CREATE TABLE posts (
  id         uuid PRIMARY KEY,
  author_id  text NOT NULL REFERENCES feed_users (id),
  body       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX posts_author_idx ON posts (author_id, created_at DESC);

-- Written by the `search` consumer group from the log (replaying rebuilds it),
-- not by the API: the index is a projection, like the feeds.
CREATE TABLE post_search (
  post_id    uuid PRIMARY KEY,
  author_id  text NOT NULL,
  body       text NOT NULL,
  created_at timestamptz NOT NULL,
  document   tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
);
CREATE INDEX post_search_document_idx ON post_search USING gin (document);

-- Written by the `analytics` consumer group: one row per post seen on the log
-- (idempotent under replay: the post id is the key); posts per author per
-- hour are a GROUP BY over it (post_stats_hourly).
CREATE TABLE post_analytics (
  post_id    uuid PRIMARY KEY,
  author_id  text        NOT NULL,
  created_at timestamptz NOT NULL,
  deleted    boolean     NOT NULL DEFAULT false
);
CREATE INDEX post_analytics_author_idx ON post_analytics (author_id, created_at);

CREATE VIEW post_stats_hourly AS
  SELECT author_id, date_trunc('hour', created_at) AS hour, count(*) FILTER (WHERE NOT deleted) AS posts
    FROM post_analytics
   GROUP BY author_id, date_trunc('hour', created_at);
