#!/usr/bin/env bash
# Installs what building and testing shadowmeter needs on Debian 12 (run as root).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates \
  clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev libcapstone-dev zlib1g-dev \
  libssl-dev openssl libboost-dev nlohmann-json3-dev prometheus-cpp-dev libyaml-cpp-dev \
  catch2 libbrotli-dev libzstd-dev libsystemd-dev libnghttp2-dev \
  libsqlite3-dev libpq-dev postgresql \
  curl python3 nodejs util-linux iproute2 procps systemd default-jdk-headless gnutls-bin \
  debootstrap lintian dpkg-dev fakeroot python3-yaml golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev \
  chromium >/dev/null
# promtool (tests packaging/prometheus/'s alert rules) comes with the prometheus package, whose server
# must not be left running on a build host: installed with service starts denied, then disabled.
if ! command -v promtool >/dev/null 2>&1; then
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service >/dev/null 2>&1 || true; fi
fi
echo "install-deps.sh: done"
