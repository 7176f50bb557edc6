# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, ship only the compiled daemon and production deps.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends openssh-client ca-certificates tini curl \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system distcron && useradd --system --gid distcron --home /var/lib/distcron distcron \
  && mkdir -p /etc/distcron/jobs.d /etc/distcron/nodes.d /var/lib/distcron \
  && chown -R distcron:distcron /var/lib/distcron
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
ENV NODE_ENV=production \
    DISTCRON_JOBS_DIR=/etc/distcron/jobs.d \
    DISTCRON_NODES_DIR=/etc/distcron/nodes.d \
    DISTCRON_DB=/var/lib/distcron/distcron.db \
    DISTCRON_TOFU_KNOWN_HOSTS=/var/lib/distcron/known_hosts
VOLUME ["/etc/distcron", "/var/lib/distcron"]
USER distcron
EXPOSE 8080
# Without API tokens the API only listens on loopback, so the health check runs inside the container.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["daemon", "--listen", "127.0.0.1:8080"]
