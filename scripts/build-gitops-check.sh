#!/usr/bin/env bash
# Builds tools/gitops-check (the GitOps test driver: Argo CD's Lua health checks and kstatus) from its Go
# module into a cache outside the repository, keyed by a hash of go.mod, go.sum and the Go sources, and
# reuses a binary already built from the same inputs.
#
#   APPRUNNER_NET_CACHE  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/apprunner-net)
#
# Prints the binary's path on its last line; progress goes to stderr. Exits 3 when Go is not installed.
set -euo pipefail

src="$(cd "$(dirname "$0")/../tools/gitops-check" && pwd)"
cache="${APPRUNNER_NET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/apprunner-net}"

log() { printf 'build-gitops-check: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed; install Go >= 1.26 to build tools/gitops-check (the GitOps tests need it)"
  exit 3
fi

# Names and contents, in a fixed order, so that a renamed file changes the hash too.
hash="$(cd "$src" && find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print |
  LC_ALL=C sort | while read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
bin_dir="$cache/bin/gitops-check-$hash"
bin="$bin_dir/gitops-check"

if [ -x "$bin" ]; then
  log "cached ($bin_dir)"
  echo "$bin"
  exit 0
fi

mkdir -p "$bin_dir"
# Test files may ask for the binary at the same moment: one builds, the others wait and reuse it.
exec 9>"$bin_dir.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -x "$bin" ]; then
  log "building from $src (the first build downloads its modules)"
  start=$(date +%s)
  (
    cd "$src"
    CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" \
      go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" .
  )
  mv "$bin.tmp.$$" "$bin"
  log "built in $(($(date +%s) - start))s"
fi
echo "$bin"
