#!/usr/bin/env bash
# What including strata costs a translation unit: compiles a file that
# includes strata/strata.hpp and instantiates one manager, beside one that
# only includes it (parsing alone), one that includes nlohmann/json.hpp alone
# and an empty one (the compiler's own start up), interleaved so that load
# changes hit all of them alike. Prints the median wall and CPU (user + sys)
# seconds of RUNS compiles each.
#   benchmarks/compile_time.sh [RUNS]        (default 5; CXX overrides g++;
#   STRATA_INCLUDE, the include directory, measures another checkout, e.g.
#   one made with `git archive HEAD include | tar -x -C DIR`)
set -euo pipefail

runs="${1:-5}"
cxx="${CXX:-g++}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat >"$work/strata_manager.cpp" <<'EOF'
#include <strata/strata.hpp>

#include <string>
#include <utility>
#include <vector>

int main() {
    strata::StateManager mgr{strata::LruCache{1000}, strata::AccessCountPromotion{3, std::chrono::minutes{5}},
                             strata::MemoryTier{}, strata::FileTier{"/tmp/strata-compile-time"}};
    mgr.set("a", "1");
    std::vector<std::pair<std::string, std::string>> kv{{"b", "2"}, {"c", "3"}};
    mgr.set_many(kv);
    const std::vector<std::string> keys{"a", "b", "c"};
    const auto many = mgr.get_many(keys);
    return mgr.get("a").has_value() && many.size() == 3 ? 0 : 1;
}
EOF
cat >"$work/strata_include.cpp" <<'EOF'
#include <strata/strata.hpp>

int main() { return 0; }
EOF
cat >"$work/json_only.cpp" <<'EOF'
#include <nlohmann/json.hpp>

int main() { return 0; }
EOF
cat >"$work/empty.cpp" <<'EOF'
int main() { return 0; }
EOF

flags=(-std=c++20 -O2 "-I${STRATA_INCLUDE:-$root/include}" -c)
cases=(strata_manager strata_include json_only empty)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "compiler: $("$cxx" --version | head -1)"
echo "command: $cxx ${flags[*]} FILE.cpp -o FILE.o"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# One warm-up compile each, so the first timed run does not pay for a cold
# page cache.
for c in "${cases[@]}"; do "$cxx" "${flags[@]}" "$work/$c.cpp" -o "$work/$c.o"; done

for ((i = 0; i < runs; ++i)); do
    for c in "${cases[@]}"; do
        /usr/bin/time -f '%e %U %S' -o "$work/$c.$i.time" "$cxx" "${flags[@]}" "$work/$c.cpp" -o "$work/$c.o"
    done
done

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-16s %10s %10s   (median of %d)\n' file wall_s cpu_s "$runs"
for c in "${cases[@]}"; do
    wall="$(cat "$work/$c".*.time | awk '{ print $1 }' | median)"
    cpu="$(cat "$work/$c".*.time | awk '{ print $2 + $3 }' | median)"
    printf '%-16s %10s %10s\n' "$c" "$wall" "$cpu"
done
