#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: installs what is
# missing (scripts/deps.sh), builds everything with every backend component
# required, checks each installed header compiles on its own, and runs ctest,
# which starts and stops its own redis-server, PostgreSQL and S3 server.
#
#   scripts/test.sh                      everything
#   STRATA_CTEST_ARGS="-L unit" scripts/test.sh   a subset (ctest's arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

build=${STRATA_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${STRATA_BUILD_TYPE:-RelWithDebInfo}" \
      -DSTRATA_COMPONENTS_REQUIRED="redis;postgres;s3;json;prometheus" \
      -DCMAKE_VERIFY_INTERFACE_HEADER_SETS=ON
cmake --build "$build" -j"$jobs"
cmake --build "$build" --target all_verify_interface_header_sets -j"$jobs"
# shellcheck disable=SC2086  # STRATA_CTEST_ARGS is a list of arguments
ctest --test-dir "$build" --output-on-failure --timeout 600 ${STRATA_CTEST_ARGS:-}
