# Build stage: full dependencies, compile TypeScript, then drop dev dependencies so the runtime
# stage can copy a production node_modules as is.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change, not on every edit.
COPY package.json package-lock.json ./
RUN npm ci
# Everything .dockerignore lets through (sources, tsconfig files).
COPY . .
RUN npm run build \
  && npm prune --omit=dev \
  && npm cache clean --force

# Runtime stage: compiled JavaScript and production dependencies only, run as the unprivileged
# `node` user that the base image provides; the application files stay owned by root, read-only
# to the service.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    SLUICE_HOST=0.0.0.0 \
    SLUICE_PORT=4573 \
    SLUICE_DATA_DIR=/var/lib/sluice \
    SLUICE_TRANSFORMS_DIR=/app/transforms \
    SLUICE_CATALOG_DIR=/app/catalog
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The web console's pages, styles and browser modules, served as they are (docs/console.md).
COPY --from=build /app/web ./web
# The example transforms; mount your own directory over /app/transforms (docs/transforms.md).
COPY --from=build /app/transforms ./transforms
# The example table catalog; mount your own over /app/catalog (docs/formats.md).
COPY --from=build /app/catalog ./catalog
# The only writable place: local deliveries and state when no S3 endpoint is configured.
RUN mkdir -p /var/lib/sluice && chown node:node /var/lib/sluice
VOLUME ["/var/lib/sluice"]
USER node
EXPOSE 4573
# Healthy means ready (GET /ready: Redis answers, the delivery workers run, not shutting down):
# Docker's health status is what compose's `service_healthy`, swarm and proxies such as
# Traefik route by, and a container should take records only once it can store them and stop
# taking them as soon as it drains. Liveness alone is GET /health (docs/operations.md). The
# slim image has no curl, so node probes; over HTTPS when the API serves it (its own
# certificate on loopback, not verified). A worker-only container (SLUICE_ROLE=worker) serves
# no HTTP: it counts as healthy while it runs; watch its queues instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "if (process.env.SLUICE_ROLE === 'worker') process.exit(0); require(process.env.SLUICE_TLS_CERT ? 'https' : 'http').get({ host: '127.0.0.1', port: process.env.SLUICE_PORT || 4573, path: '/ready', rejectUnauthorized: false, timeout: 2500 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1))"
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
