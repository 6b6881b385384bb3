#!/usr/bin/env bash
# Renders the Helm chart (packaging/helm/shadowmeter) into plain manifests with helmrender, a small Go
# program implementing the part of `helm template` the chart uses (Debian ships no helm).
#   render-manifests.sh [OUT_DIR]     default OUT_DIR: packaging/kubernetes (the committed manifests)
# Needs golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev (install-deps.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packaging="$(dirname "$here")"
out="${1:-$packaging/kubernetes}"
bin_dir="${HELMRENDER_BIN_DIR:-${TMPDIR:-/tmp}/shadowmeter-helmrender}"
mkdir -p "$bin_dir" "$out"
# GOPATH mode against Debian's Go library packages: no network, no module download.
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$bin_dir/cache" GOFLAGS= \
  go build -o "$bin_dir/helmrender" "$here/helmrender/main.go"
rm -f "$out"/*.yaml
"$bin_dir/helmrender" -chart "$packaging/helm/shadowmeter" -release shadowmeter -namespace shadowmeter \
  -f "$here/kubernetes-values.yaml" -out "$out"
echo "render-manifests.sh: wrote $(ls "$out"/*.yaml | wc -l) files to $out"
