#!/usr/bin/env bash
# Builds the helm CLI from its published Go module into a cache outside the repository, for the install
# tests (`helm template` of charts/apprunner-net). Reuses the binary when it is already there.
#
#   APPRUNNER_NET_CACHE         cache root (default: ${XDG_CACHE_HOME:-~/.cache}/apprunner-net)
#   APPRUNNER_NET_HELM_VERSION  helm version (default 4.3.1)
#
# Progress goes to standard error; the path of the helm binary is the last line of standard output.
# Exits 3 when Go is not installed.
set -euo pipefail

helm_version="${APPRUNNER_NET_HELM_VERSION:-4.3.1}"
cache="${APPRUNNER_NET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/apprunner-net}"
bin_dir="$cache/bin/helm-$helm_version"
helm="$bin_dir/helm"

log() { printf 'build-helm: %s\n' "$*" >&2; }

if [ -x "$helm" ]; then
  log "helm v$helm_version cached"
  echo "$helm"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed; install Go >= 1.26 to build helm v$helm_version (or put a helm binary at $helm)"
  exit 3
fi

major="${helm_version%%.*}"
mkdir -p "$cache/bin"
# One build at a time: test files running in parallel wait for the first one instead of building again.
exec 9>"$cache/bin/helm-$helm_version.lock"
flock 9
if [ -x "$helm" ]; then
  log "helm v$helm_version built by another process"
  echo "$helm"
  exit 0
fi

start=$(date +%s)
log "building helm v$helm_version from helm.sh/helm/v$major (about 3 minutes on 2 cores, once; more on a busy machine)"
staging="$(mktemp -d "$cache/bin/helm-$helm_version.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
# helm's own Makefile sets the version through these ldflags; without them `helm version` says only "v4.3".
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" GOBIN="$staging" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v$major/internal/version.version=v$helm_version -X helm.sh/helm/v$major/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v$major/cmd/helm@v$helm_version"
rm -rf "$bin_dir"
mv "$staging" "$bin_dir"
chmod 755 "$bin_dir"
log "done in $(($(date +%s) - start))s"
echo "$helm"
