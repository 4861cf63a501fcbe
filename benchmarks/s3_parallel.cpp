// S3Tier batches: store_many/fetch_many of 1,000 objects of 4 KB in parallel
// over curl's multi interface, beside the same requests issued one at a time
// (through the tier, and through a bare libcurl easy handle with the same
// signer: the raw client), in the same run against the same local s3rver.
//
// Run: build-*/benchmarks/bench_s3_parallel --benchmark_counters_tabular=true
// Starts its own servers with scripts/s3-server.sh (one per latency the
// benchmarks use), or uses the running one STRATA_S3_STATE names for the
// latency-0 cases, and talks to s3rver directly (the signature-checking
// front of the tests would be the bottleneck).
//
// Loopback has no latency for parallel requests to hide: client and server
// share the same two cores, so the latency-0 cases measure CPU. The cases
// with latency_ms > 0 hold every request that long in the server before it
// is served (a timer, no CPU), as the network and S3 itself do; a real S3
// GET waits tens of milliseconds.

#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <stdlib.h>  // mkdtemp

#include <algorithm>  // sort, max
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "strata/tiers/s3.hpp"

namespace {

namespace fs = std::filesystem;
constexpr int object_count = 1000;
constexpr std::size_t object_size = 4096;

const fs::path script = fs::path(__FILE__).parent_path().parent_path() / "scripts" / "s3-server.sh";

std::string read_line(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
}

std::vector<strata::Entry> entries() {
    std::vector<strata::Entry> out;
    std::string value(object_size, '\0');
    for (int i = 0; i < object_count; ++i) {
        for (std::size_t b = 0; b < value.size(); ++b) value[b] = static_cast<char>((i * 131 + b * 7) & 0xFF);
        out.push_back({"obj:" + std::to_string(10000 + i), strata::make_record(value, static_cast<std::uint64_t>(i + 1))});
    }
    return out;
}

std::vector<std::string> names(const std::vector<strata::Entry>& es) {
    std::vector<std::string> out;
    for (const auto& e : es) out.push_back(e.key);
    return out;
}

double seconds_of(auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

strata::S3Options options_for(const fs::path& state, const std::string& prefix) {
    strata::S3Options o;
    o.endpoint = read_line(state / "direct_endpoint");
    o.bucket = read_line(state / "bucket");
    o.access_key = o.secret_key = "S3RVER";
    o.prefix = prefix;
    o.compression.enabled = false;  // random 4 KB values: nothing to gain
    return o;
}

// The servers, by the latency they add to every request: started on first
// use (with the objects the fetch benchmarks read), stopped at exit.
class Servers {
public:
    Servers() = default;
    Servers(const Servers&) = delete;
    Servers& operator=(const Servers&) = delete;
    ~Servers() {
        for (const auto& dir : owned_) {
            std::system(("bash '" + script.string() + "' stop '" + dir.string() + "' >&2").c_str());
            fs::remove_all(dir);
        }
    }

    // The state directory of the server adding latency_ms; empty if it cannot start.
    const fs::path& state(long latency_ms) {
        auto [it, added] = states_.try_emplace(latency_ms);
        if (added) it->second = start(latency_ms);
        return it->second;
    }

private:
    fs::path start(long latency_ms) {
        fs::path dir;
        if (const char* s = std::getenv("STRATA_S3_STATE"); s && *s && latency_ms == 0) {
            dir = s;
        } else {
            std::string tmpl = (fs::temp_directory_path() / "strata-bench-s3-XXXXXX").string();
            if (!mkdtemp(tmpl.data())) return {};
            dir = tmpl;
            owned_.push_back(dir);
            // One s3rver process per core (unless set): a single one is CPU-bound
            // even by sequential GETs and would cap the parallel side.
            const auto cores = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
            const std::string env = "S3RVER_WORKERS=${S3RVER_WORKERS:-" + cores + "} S3RVER_LATENCY_MS=" +
                                    std::to_string(latency_ms) + " ";
            if (std::system((env + "bash '" + script.string() + "' start '" + dir.string() + "' >&2").c_str()) != 0)
                return {};
        }
        try {
            strata::S3Tier(options_for(dir, "bench-fetch/")).store_many(entries());
        } catch (const strata::Error& e) {
            std::cerr << "cannot store the objects to fetch: " << e.what() << '\n';
            return {};
        }
        return dir;
    }

    std::map<long, fs::path> states_;
    std::vector<fs::path> owned_;
};

Servers* servers = nullptr;

// Args: requests in flight (S3Options::max_parallel), latency added to each request (ms).
std::optional<strata::S3Options> bench_options(benchmark::State& st, const std::string& prefix) {
    const fs::path& state = servers->state(st.range(1));
    if (state.empty()) {
        st.SkipWithError("cannot start the S3 test server");
        return std::nullopt;
    }
    auto o = options_for(state, prefix);
    o.max_parallel = static_cast<std::size_t>(st.range(0));
    return o;
}

// The raw client: one libcurl easy handle (keep-alive) sending the same
// signed requests one at a time, without the tier's encoding or decoding.
class RawCurl {
public:
    explicit RawCurl(const strata::S3Options& o) : client_(o), prefix_(o.prefix), h_(curl_easy_init()) {
        curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
            static_cast<std::string*>(u)->append(d, s * n);
            return s * n;
        });
        curl_easy_setopt(h_, CURLOPT_WRITEDATA, &body_);
    }
    RawCurl(const RawCurl&) = delete;
    RawCurl& operator=(const RawCurl&) = delete;
    ~RawCurl() { curl_easy_cleanup(h_); }

    bool get(const std::string& key) {
        const auto req = client_.prepare({"GET", prefix_ + strata::detail::s3::encode_key(key), {}, {}, {}});
        curl_slist* hdrs = nullptr;
        for (const auto& line : req.headers) hdrs = curl_slist_append(hdrs, line.c_str());
        curl_easy_setopt(h_, CURLOPT_URL, req.url.c_str());
        curl_easy_setopt(h_, CURLOPT_HTTPHEADER, hdrs);
        body_.clear();
        long status = 0;
        const bool ok = curl_easy_perform(h_) == CURLE_OK &&
                        curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
        curl_slist_free_all(hdrs);
        return ok;
    }

private:
    strata::detail::s3::Client client_;
    std::string prefix_;
    CURL* h_;
    std::string body_;
};

// Each iteration runs the sequential paths and then the parallel one, so
// all of them see the same machine; the ratio is of per-path medians. The
// machine is shared (2 cores), so single runs drift; pairs do not.
void BM_FetchMany_vs_Sequential(benchmark::State& st) {
    const auto o = bench_options(st, "bench-fetch/");
    if (!o) return;
    strata::S3Tier tier(*o);
    RawCurl raw(*o);
    const auto keys = names(entries());
    std::vector<double> raw_seq, seq, par;
    for (auto _ : st) {
        raw_seq.push_back(seconds_of([&] {
            for (const auto& k : keys)
                if (!raw.get(k)) st.SkipWithError("raw GET failed");
        }));
        seq.push_back(seconds_of([&] {
            for (const auto& k : keys) benchmark::DoNotOptimize(tier.fetch(k));
        }));
        par.push_back(seconds_of([&] {
            if (!tier.fetch_many(keys).back()) st.SkipWithError("object missing");
        }));
        st.SetIterationTime(par.back());
    }
    st.counters["raw_curl_sequential_ms"] = median(raw_seq) * 1e3;
    st.counters["tier_sequential_ms"] = median(seq) * 1e3;
    st.counters["fetch_many_ms"] = median(par) * 1e3;
    st.counters["speedup_vs_sequential"] = median(seq) / median(par);
    st.counters["speedup_vs_raw_sequential"] = median(raw_seq) / median(par);
}

void BM_StoreMany_vs_Sequential(benchmark::State& st) {
    const auto o = bench_options(st, "bench-store/");
    if (!o) return;
    strata::S3Tier tier(*o);
    const auto es = entries();
    std::vector<double> seq, par;
    for (auto _ : st) {
        seq.push_back(seconds_of([&] {
            for (const auto& e : es) tier.store(e.key, e.record);
        }));
        par.push_back(seconds_of([&] { tier.store_many(es); }));
        st.SetIterationTime(par.back());
    }
    st.counters["tier_sequential_ms"] = median(seq) * 1e3;
    st.counters["store_many_ms"] = median(par) * 1e3;
    st.counters["speedup_vs_sequential"] = median(seq) / median(par);
}

// Latency 0 is bare loopback; 2 ms is a tenth of what a small S3 GET
// typically waits, run 3 times (each pass issues 2,000 sequential requests).
void loopback(benchmark::internal::Benchmark* b) {
    b->ArgNames({"in_flight", "latency_ms"})->Args({8, 0})->Args({32, 0})->Iterations(5);
}
void delayed(benchmark::internal::Benchmark* b) {
    b->ArgNames({"in_flight", "latency_ms"})->Args({8, 2})->Args({32, 2})->Iterations(3);
}
BENCHMARK(BM_FetchMany_vs_Sequential)->Apply(loopback)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FetchMany_vs_Sequential)->Apply(delayed)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreMany_vs_Sequential)->Apply(loopback)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreMany_vs_Sequential)->Apply(delayed)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    Servers running;
    servers = &running;
    benchmark::AddCustomContext("objects", std::to_string(object_count) + " x " + std::to_string(object_size) + " B");
    benchmark::AddCustomContext("default_max_parallel", std::to_string(strata::S3Options{}.max_parallel));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
