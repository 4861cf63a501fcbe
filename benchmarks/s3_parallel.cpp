// S3Tier batches: store_many/fetch_many of 1,000 objects of 4 KB in parallel
// over curl's multi interface, beside the same requests issued one at a time
// (through the tier, and through a bare libcurl easy handle with the same
// signer: the raw client), in the same run against the same local s3rver.
//
// Run: build-*/benchmarks/bench_s3_parallel --benchmark_counters_tabular=true
// Starts its own server with scripts/s3-server.sh unless STRATA_S3_STATE
// names a running one, and talks to s3rver directly (the signature-checking
// front of the tests would be the bottleneck).

#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>  // sort
#include <string>
#include <thread>
#include <vector>

#include "strata/tiers/s3.hpp"

namespace {

namespace fs = std::filesystem;
constexpr int object_count = 1000;
constexpr std::size_t object_size = 4096;

const fs::path script = fs::path(__FILE__).parent_path().parent_path() / "scripts" / "s3-server.sh";
fs::path state;
bool own_server = false;

std::string read_line(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
}

strata::S3Options bench_options(const std::string& prefix) {
    strata::S3Options o;
    o.endpoint = read_line(state / "direct_endpoint");
    o.bucket = read_line(state / "bucket");
    o.access_key = o.secret_key = "S3RVER";
    o.prefix = prefix;
    o.compression.enabled = false;  // random 4 KB values: nothing to gain
    return o;
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
        const auto req = client_.prepare({"GET", prefix_ + strata::s3_detail::encode_key(key), {}, {}, {}});
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
    strata::s3_detail::Client client_;
    std::string prefix_;
    CURL* h_;
    std::string body_;
};

// Each iteration runs the sequential paths and then the parallel one, so
// all of them see the same machine; the ratio is of per-path medians. The
// machine is shared (2 cores), so single runs drift; pairs do not.
// Arg: requests in flight (S3Options::max_parallel).
void BM_FetchMany_vs_Sequential(benchmark::State& st) {
    auto o = bench_options("bench-fetch/");
    o.max_parallel = static_cast<std::size_t>(st.range(0));
    strata::S3Tier tier(o);
    RawCurl raw(o);
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
    auto o = bench_options("bench-store/");
    o.max_parallel = static_cast<std::size_t>(st.range(0));
    strata::S3Tier tier(o);
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

BENCHMARK(BM_FetchMany_vs_Sequential)->Arg(8)->Arg(32)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreMany_vs_Sequential)->Arg(8)->Arg(32)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

bool start_server() {
    if (const char* s = std::getenv("STRATA_S3_STATE"); s && *s) {
        state = s;
        return true;
    }
    std::string tmpl = (fs::temp_directory_path() / "strata-bench-s3-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return false;
    state = tmpl;
    own_server = true;
    // One s3rver process per core (unless set): a single one is CPU-bound
    // even by sequential GETs and would cap the parallel side.
    const auto cores = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
    setenv("S3RVER_WORKERS", cores.c_str(), 0);
    return std::system(("bash '" + script.string() + "' start '" + state.string() + "' >&2").c_str()) == 0;
}

void stop_server() {
    if (!own_server) return;
    std::system(("bash '" + script.string() + "' stop '" + state.string() + "' >&2").c_str());
    fs::remove_all(state);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (!start_server()) {
        std::fprintf(stderr, "cannot start the S3 test server\n");
        stop_server();
        return 1;
    }
    // The fetch benchmarks read what this stores.
    strata::S3Tier(bench_options("bench-fetch/")).store_many(entries());
    benchmark::AddCustomContext("objects", std::to_string(object_count) + " x " + std::to_string(object_size) + " B");
    benchmark::AddCustomContext("default_max_parallel", std::to_string(strata::S3Options{}.max_parallel));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    stop_server();
    return 0;
}
