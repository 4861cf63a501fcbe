// strata's figures on /metrics for Prometheus, served by prometheus-cpp's
// exposer (component strata::prometheus). A manager over an instrumented
// MemoryTier and FileTier runs a small workload; the exposer reads the
// manager's figures (its cache, each tier's hits and keys, and every
// operation the instrumented tiers answered) only when scraped.
//
//     metrics_server [port] [--once]
//
// Serves http://127.0.0.1:<port>/metrics (port 0 or none: one the kernel
// picks), repeating the workload every second until SIGINT or SIGTERM. With
// --once it scrapes itself over HTTP, checks what the workload implies, and
// exits 0 when every check holds, 1 when one fails (ctest runs it so).
#include <arpa/inet.h>   // inet_pton, htons
#include <netinet/in.h>  // sockaddr_in
#include <sys/socket.h>
#include <unistd.h>  // close, getpid

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>  // strtoul
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>

#include <strata/prometheus.hpp>
#include <strata/strata.hpp>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> stop_requested{false};

constexpr int key_count = 100;

// Writes every key, reads each three times (the first read from a tier),
// reads them in one batch with ten keys no one wrote, erases ten.
template <class Manager>
void workload(Manager& mgr) {
    std::vector<std::string> keys;
    for (int i = 0; i < key_count; ++i) keys.push_back("session:" + std::to_string(i));
    for (const auto& k : keys) mgr.set(k, "user-" + k);
    for (int round = 0; round < 3; ++round)
        for (const auto& k : keys) (void)mgr.get(k);
    auto batch = keys;
    for (int i = 0; i < 10; ++i) batch.push_back("absent:" + std::to_string(i));
    (void)mgr.get_many(batch);
    for (int i = 0; i < 10; ++i) mgr.erase(keys[static_cast<std::size_t>(i)]);
}

// GET /metrics from 127.0.0.1:port with HTTP/1.0, so the server closes the
// connection at the end of the body: the whole response, headers included.
std::string scrape(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        throw std::system_error(errno, std::generic_category(), "connect to 127.0.0.1:" + std::to_string(port));
    const std::string_view request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    for (std::size_t sent = 0; sent < request.size();) {
        const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0) throw std::system_error(errno, std::generic_category(), "send");
        sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char buffer[16384];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) != 0;) {
        if (n < 0) throw std::system_error(errno, std::generic_category(), "recv");
        response.append(buffer, static_cast<std::size_t>(n));
    }
    return response;
}

// Whether the response holds the line `sample value`, saying so.
bool expect_line(const std::string& response, const std::string& sample, const std::string& value) {
    const std::string line = "\n" + sample + " " + value + "\n";
    const bool found = response.find(line) != std::string::npos;
    std::printf("    %-72s %s\n", (sample + " " + value).c_str(), found ? "ok" : "MISSING");
    return found;
}

bool check(const std::string& response) {
    if (!response.starts_with("HTTP/1.1 200") && !response.starts_with("HTTP/1.0 200")) {
        std::printf("    not a 200 response:\n%s\n", response.c_str());
        return false;
    }
    // Each set is a one-entry store_many to both tiers and leaves the cache
    // empty for its key; the first round of reads misses the cache and finds
    // every key in memory, the next two and the batch hit it, except the
    // batch's ten unknown keys, asked of each tier in one fetch_many.
    const std::string n = std::to_string(key_count);
    bool ok = true;
    ok &= expect_line(response, R"(strata_tier_operations_total{tier="memory",operation="store_many"})", n);
    ok &= expect_line(response, R"(strata_tier_operations_total{tier="file",operation="store_many"})", n);
    ok &= expect_line(response, R"(strata_tier_operations_total{tier="file",operation="fetch_many"})", "1");
    ok &= expect_line(response, R"(strata_tier_hits_total{tier="memory"})", n);
    ok &= expect_line(response, "strata_cache_hits_total", std::to_string(3 * key_count));
    ok &= expect_line(response, "strata_cache_misses_total", std::to_string(key_count + 10));
    ok &= expect_line(response, R"(strata_tier_keys{tier="memory"})", std::to_string(key_count - 10));
    ok &= expect_line(response, R"(strata_tier_keys{tier="file"})", std::to_string(key_count - 10));
    ok &= expect_line(response, "strata_metrics_collect_errors_total", "0");
    return ok;
}

// The FileTier's directory, removed however the program ends.
struct ScratchDir {
    fs::path path = fs::temp_directory_path() / ("strata-metrics-server-" + std::to_string(::getpid()));
    ScratchDir() { fs::remove_all(path); }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

int serve(int port, bool once) {
    const ScratchDir dir;
    strata::StateManager mgr{strata::LruCache{10'000}, strata::NeverPromote{},
                             strata::Instrumented{strata::MemoryTier{}},
                             strata::Instrumented{strata::FileTier{dir.path}}};
    workload(mgr);

    // The collectable reads `mgr` at each scrape; the exposer keeps only a
    // weak_ptr, so `metrics` is held while served, and the exposer goes
    // (declared after) before the manager does.
    auto metrics = strata::make_prometheus_collectable(mgr);
    prometheus::Exposer exposer{"127.0.0.1:" + std::to_string(port), 1};
    exposer.RegisterCollectable(metrics);
    port = exposer.GetListeningPorts().at(0);
    std::printf("serving http://127.0.0.1:%d/metrics\n", port);
    std::fflush(stdout);

    if (once) {
        std::puts("scraped itself:");
        return check(scrape(port)) ? 0 : 1;
    }
    std::signal(SIGINT, [](int) { stop_requested = true; });
    std::signal(SIGTERM, [](int) { stop_requested = true; });
    while (!stop_requested) {
        std::this_thread::sleep_for(1s);
        workload(mgr);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    bool once = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--once") {
            once = true;
        } else {
            char* end = nullptr;
            const unsigned long p = std::strtoul(argv[i], &end, 10);
            if (*end != '\0' || p > 65535) {
                std::fprintf(stderr, "usage: %s [port] [--once]\n", argv[0]);
                return 2;
            }
            port = static_cast<int>(p);
        }
    }

    try {
        return serve(port, once);
    } catch (const std::exception& e) {  // the port taken, say
        std::fprintf(stderr, "metrics_server: %s\n", e.what());
        return 1;
    }
}
