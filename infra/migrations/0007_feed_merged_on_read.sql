-- Crossing the celebrity threshold (docs/adr/0009-three-tier-fan-out.md).
--
-- merged_since: readers merge this author's recent posts since then. Set by
-- the fan-out when it first handles the author in the pull (celebrity) tier,
-- never cleared. Readers merge the followees with follower_count at or above
-- the threshold OR merged_since set; feed rebuilds push the posts of all the
-- others. An author who drops back below the threshold stays merged, so the
-- posts they made as a celebrity (only in their recent posts) stay in their
-- followers' feeds.
--
-- pushed_until: posts of a merged author created at or before it may be in
-- pushed feeds (those from before the crossing, and those pushed while the
-- author was below the threshold again), so deleting one in the pull tier also
-- removes it from the followers' feeds.
ALTER TABLE feed_users
  ADD COLUMN merged_since timestamptz,
  ADD COLUMN pushed_until timestamptz;
