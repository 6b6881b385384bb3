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
  clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev zlib1g-dev \
  libssl-dev openssl libboost-dev nlohmann-json3-dev prometheus-cpp-dev libyaml-cpp-dev \
  catch2 libbrotli-dev libzstd-dev libsystemd-dev libnghttp2-dev \
  libsqlite3-dev libpq-dev postgresql \
  curl python3 nodejs util-linux iproute2 procps >/dev/null
echo "install-deps.sh: done"
