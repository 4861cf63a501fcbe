#!/usr/bin/env bash
# Installs what is missing, builds the quickstart example and runs it. It
# needs no server: it keeps its state in memory and in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

build=${STRATA_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" --target quickstart -j"$(nproc)"
"$build/examples/quickstart"
