#!/usr/bin/env bash
# Installs, with apt-get, whatever strata's build, tests, benchmarks and local
# servers need and this machine lacks. Safe to run again: it installs nothing
# when everything is present.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make pkg-config
  # core: SHA-256 and AES-GCM, zlib, tests, benchmarks, the quickstart's JSON
  libssl-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  # backend tiers
  libhiredis-dev libpqxx-dev libpq-dev libcurl4-openssl-dev libexpat1-dev
  # servers for the integration tests; the reference signer and a test CA for S3
  redis-server postgresql python3 python3-botocore openssl
  # process tools the server scripts use
  procps psmisc
  # the reliability suite: libFuzzer (clang 14 and its runtime), loopback
  # partitions (nftables), coverage (gcovr)
  clang libclang-rt-14-dev nftables gcovr
  # metrics: promtool checks the Prometheus text; the prometheus-cpp bridge
  prometheus prometheus-cpp-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The S3 test server comes from npm; a machine whose nodejs already bundles
# npm must not get Debian's npm package on top (they conflict).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "strata: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
