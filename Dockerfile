# syntax=docker/dockerfile:1
#
# One image per app, all from this file: pick the app with --target.
#
#   docker build --target outbox-relay -t queues-logs-streams/outbox-relay:local .
#
# Stages: `build` installs every dependency and builds every app once
# (dist/apps/<app>/main.js); `prod-deps` installs production dependencies only;
# `runtime` is what ships (non-root, no sources, no dev dependencies); one short
# stage per app at the end sets what it runs.
#
# NODE_VERSION follows .nvmrc (infra/deploy checks that they agree).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /repo
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false CI=true
COPY package.json package-lock.json .npmrc ./
# npm ci runs the postinstall patches (tools/patch-deps.cjs) on node_modules.
COPY tools/patch-deps.cjs tools/
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npx nx run-many -t build --outputStyle=static

FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /repo
COPY package.json package-lock.json .npmrc ./
COPY tools/patch-deps.cjs tools/
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# Apps bind loopback unless HOST says otherwise (libs/platform/config serviceEnv): in a
# container, compose and k8s (probes included) reach them on the pod address.
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only for the app user: the app cannot change its own code.
COPY --from=prod-deps /repo/node_modules ./node_modules
# uid:gid 1000 is the image's `node` user; numeric so Kubernetes can verify
# runAsNonRoot without looking the name up.
USER 1000:1000
# Apps handle SIGTERM themselves (graceful drain); compose adds an init process.
EXPOSE 3000

# ------------------------------------------------------------------ apps
# Adding an app: copy one block and change the name in its three places.

FROM runtime AS provision
COPY --from=build /repo/dist/apps/provision ./dist/apps/provision
# Read at run time, from /app/infra/... (the same path relative to the working
# directory, and to dist/apps/provision, as in the repository).
COPY --from=build /repo/infra/provision ./infra/provision
COPY --from=build /repo/infra/migrations ./infra/migrations
CMD ["node", "dist/apps/provision/main.js"]

FROM runtime AS outbox-relay
COPY --from=build /repo/dist/apps/outbox-relay ./dist/apps/outbox-relay
CMD ["node", "dist/apps/outbox-relay/main.js"]

FROM runtime AS notification-api
COPY --from=build /repo/dist/apps/notification-api ./dist/apps/notification-api
CMD ["node", "dist/apps/notification-api/main.js"]

FROM runtime AS notification-worker
COPY --from=build /repo/dist/apps/notification-worker ./dist/apps/notification-worker
CMD ["node", "dist/apps/notification-worker/main.js"]

FROM runtime AS notification-dlq-monitor
COPY --from=build /repo/dist/apps/notification-dlq-monitor ./dist/apps/notification-dlq-monitor
CMD ["node", "dist/apps/notification-dlq-monitor/main.js"]

# ---------------------------------------------------- System 2: metrics on Kafka

FROM runtime AS metrics-ingest
COPY --from=build /repo/dist/apps/metrics-ingest ./dist/apps/metrics-ingest
CMD ["node", "dist/apps/metrics-ingest/main.js"]

FROM runtime AS metrics-storage
COPY --from=build /repo/dist/apps/metrics-storage ./dist/apps/metrics-storage
CMD ["node", "dist/apps/metrics-storage/main.js"]

# Reads its rules from ALERT_RULES_FILE: infra/alerting/rules.json, mounted at
# run time (compose: a read-only bind mount; k8s: a ConfigMap), not baked in.
FROM runtime AS metrics-alerter
COPY --from=build /repo/dist/apps/metrics-alerter ./dist/apps/metrics-alerter
CMD ["node", "dist/apps/metrics-alerter/main.js"]

FROM runtime AS metrics-dashboard
COPY --from=build /repo/dist/apps/metrics-dashboard ./dist/apps/metrics-dashboard
CMD ["node", "dist/apps/metrics-dashboard/main.js"]

# dist/apps/stream-ops holds main.js (lag monitor, replay HTTP) and the replay
# command beside it: `node dist/apps/stream-ops/replay-cli.js --help` in the
# container (docs/deploy.md: kubectl exec / docker compose exec).
FROM runtime AS stream-ops
COPY --from=build /repo/dist/apps/stream-ops ./dist/apps/stream-ops
CMD ["node", "dist/apps/stream-ops/main.js"]

# ------------------------------------------------------- the feed system

FROM runtime AS feed-api
COPY --from=build /repo/dist/apps/feed-api ./dist/apps/feed-api
CMD ["node", "dist/apps/feed-api/main.js"]

# dist/apps/feed-fanout holds main.js (the `fan-out` consumer) and the feed
# rebuild command beside it: `node dist/apps/feed-fanout/rebuild-cli.js --all`
# in the container rebuilds the Redis feeds from Postgres (after a ranking
# change or a lost Redis; docs/deploy.md: kubectl exec / docker compose exec).
FROM runtime AS feed-fanout
COPY --from=build /repo/dist/apps/feed-fanout ./dist/apps/feed-fanout
CMD ["node", "dist/apps/feed-fanout/main.js"]

FROM runtime AS feed-fanout-worker
COPY --from=build /repo/dist/apps/feed-fanout-worker ./dist/apps/feed-fanout-worker
CMD ["node", "dist/apps/feed-fanout-worker/main.js"]

# One image for both projections: FEED_INDEXER_PROJECTIONS picks the consumer
# groups a process runs (k8s: one Deployment each; compose: both in one).
FROM runtime AS feed-indexer
COPY --from=build /repo/dist/apps/feed-indexer ./dist/apps/feed-indexer
CMD ["node", "dist/apps/feed-indexer/main.js"]
