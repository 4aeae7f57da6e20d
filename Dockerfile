# syntax=docker/dockerfile:1
# The operator's image: Node 24 LTS (the version package.json pins for development) runs the TypeScript
# sources directly (type stripping), as uid 1000 with nothing to write, so the Deployment can mount a
# read-only root file system. Build and push both architectures (docs/install-eks.md):
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/apprunner-net/apprunner-net:0.1.0 --push .
# There is no Docker engine in CI: test/integration/install/image.test.ts replays these steps instead.

# The dependencies are plain JavaScript: install them on the build machine's own platform, so a
# multi-platform build runs no emulated step.
FROM --platform=$BUILDPLATFORM node:24.21.0-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

FROM node:24.21.0-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json says "type": "module", which the entry point needs.
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The base image's `node` user, by number so that the kubelet can check runAsNonRoot.
USER 1000:1000
# node runs as PID 1: the operator handles SIGTERM itself (drains, releases its lease, exits 0) and starts
# no child process, so no init process is needed to forward signals or reap zombies. A young generation of
# 2 MB semi-spaces instead of V8's default 16 MB: the operator's garbage is small and short-lived, and this
# takes about 25 MB off its resident memory for a few more (sub-millisecond) scavenges.
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/apprunner-net.js"]
CMD ["run"]
