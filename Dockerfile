# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# Production dependencies only (argon2 ships prebuilt binaries for linux-x64/arm64 glibc).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
# Memory and speed (docs/BENCHMARKS.md): one malloc arena, so argon2's 19 MiB buffers (at most
# PASSWORD_HASH_CONCURRENCY at once) are reused in place instead of one kept per libuv thread; a
# mmap threshold above them and a trim threshold above two of them, so that no hash maps, faults
# in and zeroes 19 MiB afresh (returning them after each hash made every verify about 3 times slower).
ENV MALLOC_ARENA_MAX=1
ENV MALLOC_MMAP_THRESHOLD_=33554432
ENV MALLOC_TRIM_THRESHOLD_=67108864
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node, not npm, as PID 1's child-free entry point, so SIGTERM reaches the service directly.
# A small young generation and a bounded old one keep the resident set near the live heap (about
# 40 MB) under load instead of letting V8 grow it; `npm run bench` starts the service with this line.
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=128", "dist/src/server.js"]
