#!/usr/bin/env bash
# Builds kube-apiserver and etcd from published Go modules into a cache outside the repository,
# for the integration-test harness and `npm run cluster:up`. Reuses binaries already present.
#
#   APPRUNNER_NET_CACHE       cache root (default: ${XDG_CACHE_HOME:-~/.cache}/apprunner-net)
#   APPRUNNER_NET_K8S_VERSION  Kubernetes version (default 1.37.2; 1.36.3 is the known fallback)
#   APPRUNNER_NET_ETCD_VERSION etcd server version (default 3.6.16)
#
# Prints the directory holding both binaries on its last line.
set -euo pipefail

k8s_version="${APPRUNNER_NET_K8S_VERSION:-1.37.2}"
etcd_version="${APPRUNNER_NET_ETCD_VERSION:-3.6.16}"
cache="${APPRUNNER_NET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/apprunner-net}"
bin_dir="$cache/bin/k8s-v${k8s_version}-etcd-v${etcd_version}"
build_root="$cache/build"

log() { printf 'build-control-plane: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed; install Go >= 1.26 (or set APPRUNNER_NET_TEST_KUBECONFIG to use an existing cluster)"
  exit 3
fi

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
mkdir -p "$bin_dir" "$build_root"

build_apiserver() {
  local dir="$build_root/kube-apiserver-v$k8s_version" minor="${k8s_version#*.}"
  minor="${minor%%.*}"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/kube-apiserver-build >/dev/null 2>&1
  go mod edit -go=1.26.0
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them through replace
  # lines that only apply in its own main module, so map each one to its published tag here.
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v$k8s_version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  local staged
  staged="$(grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}')"
  [ -n "$staged" ] || { log "no staging modules found in $gomod"; exit 1; }
  for m in $staged; do go mod edit -replace="$m=$m@v0.${k8s_version#1.}"; done
  local godebug
  godebug="$(grep -E '^godebug ' "$gomod" || true)"
  [ -z "$godebug" ] || echo "$godebug" >>go.mod
  go mod edit -require="k8s.io/kubernetes@v$k8s_version"
  cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  go mod tidy >/dev/null
  local pkg=k8s.io/component-base/version
  go build -trimpath -o "$bin_dir/kube-apiserver.tmp" \
    -ldflags "-s -w -X $pkg.gitVersion=v$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "$bin_dir/kube-apiserver.tmp" "$bin_dir/kube-apiserver"
}

build_etcd() {
  local dir="$build_root/etcd-v$etcd_version"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/etcd-build >/dev/null 2>&1
  cat >tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod edit -require="go.etcd.io/etcd/server/v3@v$etcd_version"
  go mod tidy >/dev/null
  go build -trimpath -o "$bin_dir/etcd.tmp" -ldflags "-s -w" go.etcd.io/etcd/server/v3
  mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
}

start=$(date +%s)
if [ -x "$bin_dir/etcd" ]; then log "etcd v$etcd_version cached"; else log "building etcd v$etcd_version"; (build_etcd); fi
if [ -x "$bin_dir/kube-apiserver" ]; then log "kube-apiserver v$k8s_version cached"; else log "building kube-apiserver v$k8s_version (minutes on 2 cores)"; (build_apiserver); fi
log "done in $(( $(date +%s) - start ))s"
echo "$bin_dir"
