#!/usr/bin/env bash
# Line and branch coverage of include/ by the test suite: builds the tests
# with gcov instrumentation (Debug, -O0) in build-coverage, runs every ctest
# label but compile and package (which run nothing of include/; ctest starts
# the servers through its fixtures), and reports with gcovr: the totals and
# the figure per directory of include/, a text report per file, and an HTML
# report in build-coverage/coverage/. Fails when line coverage of include/ is
# under the threshold (percent).
#
#   scripts/coverage.sh [MIN_LINE_PERCENT]      default $STRATA_COVERAGE_MIN, else 90
#   STRATA_CTEST_ARGS="-L unit" scripts/coverage.sh   a subset (ctest's arguments)
#   STRATA_COVERAGE_JOBS=1 scripts/coverage.sh       build jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

threshold=${1:-${STRATA_COVERAGE_MIN:-90}}
[[ $threshold =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "coverage.sh: threshold '$threshold' is not a percentage" >&2; exit 2; }

scripts/deps.sh

build=build-coverage
jobs=${STRATA_COVERAGE_JOBS:-$(nproc)}
# Atomic counters: the tests run threads, and racing plain increments leave
# counts gcov cannot read (a branch taken a negative number of times).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS="--coverage -O0 -fprofile-update=atomic" -DCMAKE_EXE_LINKER_FLAGS="--coverage" \
      -DSTRATA_COMPONENTS_REQUIRED="redis;postgres;s3" \
      -DSTRATA_BUILD_BENCHMARKS=OFF -DSTRATA_BUILD_EXAMPLES=OFF -DSTRATA_INSTALL=OFF
cmake --build "$build" -j"$jobs"

# Counters of an earlier run would add to this one's.
find "$build" -name '*.gcda' -delete
tests_status=0
# shellcheck disable=SC2086  # STRATA_CTEST_ARGS is a list of arguments
ctest --test-dir "$build" -LE 'compile|package' --output-on-failure --timeout 600 \
      ${STRATA_CTEST_ARGS:-} || tests_status=$?

# Every call that may throw is a branch to gcc (the exception edge), and
# header-only code has thousands: --exclude-throw-branches leaves the branches
# the source writes (if, loops, &&, ?:, switch). --exclude-unreachable-branches
# drops the ones gcc adds on lines without code (closing braces, destructors
# of temporaries).
report=$build/coverage
mkdir -p "$report"
gcovr --root . --filter 'include/' --exclude 'tests/' \
      --exclude-throw-branches --exclude-unreachable-branches \
      --txt "$report/files.txt" --json-summary-pretty --json-summary "$report/summary.json" \
      --html-details "$report/index.html" "$build/tests"

python3 - "$report/summary.json" "$threshold" <<'EOF'
import collections, json, os, sys

summary, threshold = json.load(open(sys.argv[1])), float(sys.argv[2])
dirs = collections.defaultdict(lambda: [0, 0, 0, 0])
for f in summary["files"]:
    d = dirs[os.path.dirname(f["filename"])]
    for i, field in enumerate(("line_covered", "line_total", "branch_covered", "branch_total")):
        d[i] += f[field]

def pct(covered, total):
    return f"{100.0 * covered / total:5.1f}%" if total else "    -"

print(f"{'directory':<40} {'lines':>16} {'branches':>16}")
for name in sorted(dirs):
    lc, lt, bc, bt = dirs[name]
    print(f"{name:<40} {pct(lc, lt)} {lc:>5}/{lt:<5} {pct(bc, bt)} {bc:>5}/{bt:<5}")
lc, lt = summary["line_covered"], summary["line_total"]
bc, bt = summary["branch_covered"], summary["branch_total"]
print(f"{'include/ (total)':<40} {pct(lc, lt)} {lc:>5}/{lt:<5} {pct(bc, bt)} {bc:>5}/{bt:<5}")
line = 100.0 * lc / lt if lt else 0.0
if line < threshold:
    print(f"coverage.sh: line coverage of include/ is {line:.1f}%, under {threshold:g}%", file=sys.stderr)
    sys.exit(1)
EOF
echo "per file: $report/files.txt; annotated sources: $report/index.html"
if ((tests_status)); then
  echo "coverage.sh: some tests failed (ctest exit $tests_status); the figures above count only what ran" >&2
  exit "$tests_status"
fi
