# syntax=docker/dockerfile:1
#
# OTP verification service: multi-stage image.
#   build   - installs every dependency with `npm ci` and compiles TypeScript to dist/ (npm run build)
#   deps    - production dependencies only (`npm ci --omit=dev`)
#   runtime - Node, dist/ and the production node_modules; runs as the unprivileged `node` user
#
# Node is pinned to an exact 22 LTS release. It must be >= 22.12 (or >= 20.19 on Node 20): the Vonage
# SDK pulls in `uuid`, which is ESM-only, through require(); those releases load ESM from require()
# without a flag. Bump the tag (and nothing else) to take Node security releases.

FROM node:22.18.0-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM base AS deps
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM base AS runtime
# A 128 MB old generation keeps RSS near 130 MB under sustained load (about 200 MB without it, see
# README "Performance"); the live heap stays around 40 MB. Override NODE_OPTIONS to change it.
ENV NODE_ENV=production \
    PORT=3000 \
    NODE_OPTIONS=--max-old-space-size=128
# Code and dependencies stay owned by root: the service user can read them, not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's unprivileged `node` user, by number so Kubernetes runAsNonRoot can check it.
USER 1000:1000
EXPOSE 3000
# /healthz answers 200 while the process runs; slim images have no curl, so Node's own fetch does it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM directly, so the graceful shutdown in dist/server.js runs.
CMD ["node", "dist/server.js"]
