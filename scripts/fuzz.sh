#!/usr/bin/env bash
# Fuzzes every parser of bytes strata did not write itself in this process
# (tests/fuzz/*.cpp, one libFuzzer target each, with tests/fuzz/<target>.dict
# as its dictionary where there is one) with AddressSanitizer and
# UndefinedBehaviorSanitizer, starting from the committed seeds under
# tests/fuzz/corpus/<target>/ (read, never written: new inputs go to
# build-fuzz/corpus/<target>/). Fails if any target finds a crash, a leak, a
# timeout, an allocation over 256 MiB or a broken property, and prints the
# path of the input that did it.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]   default: 60, all
#   build-fuzz/<target> <input>                         replays one input
#   STRATA_FUZZ_BUILD_DIR=dir scripts/fuzz.sh ...       builds in dir instead
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
if (($# > 0)); then
    targets=("$@")
else
    # Every source with an entry point is a target (the seed generator has none).
    targets=()
    for f in $(grep -l LLVMFuzzerTestOneInput tests/fuzz/*.cpp); do targets+=("$(basename "$f" .cpp)"); done
fi

build=${STRATA_FUZZ_BUILD_DIR:-build-fuzz}
jobs=$(nproc)
cxx=$(command -v clang++-14 || command -v clang++)
mkdir -p "$build"

# What each target links, besides the sanitizers' runtimes.
libs_of() {
    case "$1" in
        cron | envelope | file_path | glob | checkpoint_summary | checkpoint_stream | postgres_bytea) echo "openssl zlib" ;;
        http_date | s3_xml | s3_listing) echo "expat libcurl openssl zlib" ;;
        redis_reply) echo "hiredis openssl zlib" ;;
        *) echo "expat hiredis libcurl openssl zlib" ;;
    esac
}

build_one() {
    local t=$1 out=$build/$1
    # Up to date when newer than every header and fuzz source it may include.
    if [[ -x $out && -z $(find include tests/fuzz -newer "$out" \( -name '*.hpp' -o -name "$t.cpp" \) -print -quit) ]]; then
        return 0
    fi
    # shellcheck disable=SC2046  # pkg-config prints a list of flags
    "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -Wall -Wextra -Werror -Iinclude -Itests \
        "tests/fuzz/$t.cpp" -o "$out" $(pkg-config --libs $(libs_of "$t")) -pthread \
        || { echo "fuzz: building $t failed" >&2; return 1; }
}

run_one() {
    local t=$1 log=$build/$1.log dict=()
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
    rm -f "$build/artifacts/$t"/*  # what an earlier run found
    [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
    # The committed seeds come second: libFuzzer writes new inputs to the first directory only.
    "$build/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" "${dict[@]}" \
        "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
}

export -f build_one run_one libs_of
export build cxx seconds

echo "fuzz: building ${#targets[@]} targets with up to $jobs jobs"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'build_one "$@"' _ {}

echo "fuzz: running each target for ${seconds}s, $jobs at a time"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@" || true' _ {}

failed=0
printf '%-20s %14s  %s\n' target executions result
for t in "${targets[@]}"; do
    log=$build/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    if [[ -n $artifact ]]; then
        printf '%-20s %14s  FOUND %s (log %s)\n' "$t" "${execs:-?}" "$artifact" "$log"
        failed=1
    elif [[ -z $execs ]]; then
        printf '%-20s %14s  DID NOT RUN (log %s)\n' "$t" "?" "$log"
        failed=1
    else
        printf '%-20s %14s  ok\n' "$t" "$execs"
    fi
done
exit "$failed"
