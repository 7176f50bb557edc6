# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, ship only the compiled daemon and production deps.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client ca-certificates tini curl \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system distcron && useradd --system --gid distcron --home /var/lib/distcron distcron \
  && mkdir -p /etc/distcron/jobs.d /etc/distcron/nodes.d /etc/distcron/resources.d /var/lib/distcron \
  && chown -R distcron:distcron /etc/distcron /var/lib/distcron
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
ENV NODE_ENV=production \
    DISTCRON_JOBS_DIR=/etc/distcron/jobs.d \
    DISTCRON_NODES_DIR=/etc/distcron/nodes.d \
    DISTCRON_DB=/var/lib/distcron/distcron.db \
    DISTCRON_TOFU_KNOWN_HOSTS=/var/lib/distcron/known_hosts \
    DISTCRON_LISTEN=0.0.0.0:8080
VOLUME ["/etc/distcron", "/var/lib/distcron"]
USER distcron
EXPOSE 8080
# The API listens on 0.0.0.0:8080, so the daemon refuses to start without --api-tokens
# (DISTCRON_API_TOKENS=/etc/distcron/tokens.json, a mounted file; see the README's Security section).
# The health check asks the address in DISTCRON_LISTEN (a wildcard address is asked on loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD sh -c 'host="${DISTCRON_LISTEN%:*}"; port="${DISTCRON_LISTEN##*:}"; \
    case "$host" in 0.0.0.0|"") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac; \
    curl -fsS "http://$host:$port/healthz"' || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["daemon"]
