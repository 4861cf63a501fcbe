#pragma once

#include <curl/curl.h>

#include <algorithm>  // min
#include <chrono>
#include <cstdint>  // uintptr_t
#include <memory>   // unique_ptr
#include <mutex>
#include <new>      // bad_alloc
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>  // is_invocable_r_v
#include <vector>

#include "strata/core/detail/socket.hpp"
#include "strata/tiers/s3/sigv4.hpp"  // Headers, lower, trim_all

// HTTP over libcurl: every call, one request or a thousand, runs on a multi
// handle with bounded concurrency. A Session (multi handle + easy handles)
// keeps its connections alive between calls; a pool hands one session to
// each concurrent caller, so no lock is held while requests are in flight.
namespace strata::detail::s3 {

// Only the body is borrowed: curl copies the rest when the request starts.
struct HttpRequest {
    std::string method;                // GET, HEAD, PUT, POST, DELETE
    std::string url;
    std::vector<std::string> headers;  // "Name: value", all of them signed
    std::string_view body;             // must outlive the call
};

struct HttpResponse {
    long status = 0;                   // 0 when no HTTP response arrived
    CURLcode curl = CURLE_OK;
    std::string curl_error;
    Headers headers;                   // names lower-cased
    std::string body;

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers)
            if (k == name) return v;
        return std::nullopt;
    }
};

struct HttpSettings {
    std::chrono::milliseconds timeout{30'000};
    std::chrono::milliseconds connect_timeout{5'000};
    std::size_t max_parallel = 32;
    const char* ca_file = nullptr;  // PEM bundle to trust; nullptr: curl's default (the system's)
};

inline void curl_global_init_once() {
    // Thread-safe since curl 7.84, but doing it once also keeps its cost out
    // of every tier constructed.
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw std::runtime_error("strata: curl_global_init failed");
}

class Session {
public:
    Session() : multi_(curl_multi_init()) {
        if (!multi_) throw std::bad_alloc();
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() {
        for (CURL* h : easy_) curl_easy_cleanup(h);
        curl_multi_cleanup(multi_);
    }

    // Runs out.size() requests, at most settings.max_parallel at a time.
    // make(i) builds request i just before it is sent, so no signature is
    // older than its dispatch however long the batch runs (S3 refuses a
    // request signed 15 minutes before it arrives), and the first requests
    // are on the wire while the rest are still unsigned. out[i] receives the
    // response to request i; transport failures are reported there, never thrown.
    template <class MakeRequest>
        requires std::is_invocable_r_v<HttpRequest, MakeRequest&, std::size_t>
    void run(MakeRequest&& make, std::span<HttpResponse> out, const HttpSettings& settings) {
        const std::size_t count = out.size();
        const std::size_t width = std::min(std::max<std::size_t>(settings.max_parallel, 1), count);
        while (easy_.size() < width) {
            CURL* h = curl_easy_init();
            if (!h) throw std::bad_alloc();
            easy_.push_back(h);
        }
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(std::max<std::size_t>(easy_.size(), 4)));
        slots_.assign(width, Slot{});
        std::vector<std::size_t> free_slots;
        for (std::size_t s = width; s-- > 0;) free_slots.push_back(s);

        std::size_t next = 0, active = 0;
        try {
            while (next < count || active > 0) {
                while (!free_slots.empty() && next < count) {
                    const std::size_t s = free_slots.back();
                    start(s, make(next), out[next], next, settings);
                    free_slots.pop_back();
                    ++next;
                    ++active;
                }
                int running = 0;
                curl_multi_perform(multi_, &running);
                int queued = 0;
                while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
                    if (msg->msg != CURLMSG_DONE) continue;
                    void* priv = nullptr;
                    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
                    const auto s = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(priv));
                    finish(s, msg->data.result, out[slots_[s].index]);
                    free_slots.push_back(s);
                    --active;
                }
                if (active > 0) curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
            }
        } catch (...) {
            for (std::size_t s = 0; s < slots_.size(); ++s) {
                if (slots_[s].busy)
                    detach(s);
                else
                    free_headers(slots_[s]);
            }
            throw;
        }
    }

private:
    struct Slot {
        bool busy = false;
        std::size_t index = 0;
        curl_slist* headers = nullptr;
        char error[CURL_ERROR_SIZE] = {};  // curl's own words: which host, port or certificate
    };

    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
        static_cast<HttpResponse*>(user)->body.append(data, size * n);
        return size * n;
    }

    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
        auto* r = static_cast<HttpResponse*>(user);
        const std::string_view line(data, size * n);
        if (line.starts_with("HTTP/")) {
            r->headers.clear();  // a new response (after 100 Continue or a retry)
        } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
            r->headers.emplace_back(lower(trim_all(line.substr(0, colon))), trim_all(line.substr(colon + 1)));
        }
        return size * n;
    }

    void start(std::size_t s, const HttpRequest& req, HttpResponse& resp, std::size_t index,
               const HttpSettings& settings) {
        CURL* h = easy_[s];
        curl_easy_reset(h);
        resp = HttpResponse{};
        Slot& slot = slots_[s];
        slot.index = index;
        slot.error[0] = '\0';
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, slot.error);
        for (const auto& line : req.headers) append_header(slot, line.c_str());
        // curl would otherwise add headers of its own: no 100-continue round
        // trip, and no form content type on PUT.
        append_header(slot, "Expect:");
        append_header(slot, "Accept:");

        curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, slot.headers);
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // the path is signed as sent: no squashing of "/../"
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout.count()));
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        // curl closes a connection once its transfer is done or given up on
        // (a timeout): a request given up on must not reach the server later.
        curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, +[](void*, curl_socket_t fd, curlsocktype) {
            abort_on_close(fd);
            return static_cast<int>(CURL_SOCKOPT_OK);
        });
        if (settings.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, settings.ca_file);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "strata-s3");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Session::on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Session::on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
        curl_easy_setopt(h, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<std::uintptr_t>(s)));
        if (req.method == "HEAD") {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (req.method == "GET") {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
            if (req.method != "DELETE" || !req.body.empty()) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
            }
        }
        if (curl_multi_add_handle(multi_, h) != CURLM_OK) {
            free_headers(slot);
            throw std::runtime_error("strata: curl_multi_add_handle failed");
        }
        slot.busy = true;
    }

    void finish(std::size_t s, CURLcode result, HttpResponse& resp) {
        resp.curl = result;
        if (result != CURLE_OK) resp.curl_error = slots_[s].error[0] ? slots_[s].error : curl_easy_strerror(result);
        curl_easy_getinfo(easy_[s], CURLINFO_RESPONSE_CODE, &resp.status);
        detach(s);
    }

    void detach(std::size_t s) {
        curl_multi_remove_handle(multi_, easy_[s]);
        free_headers(slots_[s]);
        slots_[s].busy = false;
    }

    static void append_header(Slot& slot, const char* line) {
        curl_slist* next = curl_slist_append(slot.headers, line);
        if (!next) throw std::bad_alloc();
        slot.headers = next;
    }

    static void free_headers(Slot& slot) {
        curl_slist_free_all(slot.headers);
        slot.headers = nullptr;
    }

    CURLM* multi_;
    std::vector<CURL*> easy_;
    std::vector<Slot> slots_;
};

// Sessions for concurrent callers: taken for one call, given back after.
class SessionPool {
public:
    static constexpr std::size_t max_idle = 8;

    template <class MakeRequest>
    void run(MakeRequest&& make, std::span<HttpResponse> out, const HttpSettings& settings) {
        std::unique_ptr<Session> s = take();
        s->run(make, out, settings);
        give_back(std::move(s));
    }

private:
    std::unique_ptr<Session> take() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto s = std::move(idle_.back());
                idle_.pop_back();
                return s;
            }
        }
        return std::make_unique<Session>();
    }

    void give_back(std::unique_ptr<Session> s) {
        std::lock_guard lock(mutex_);
        if (idle_.size() < max_idle) idle_.push_back(std::move(s));
    }

    std::mutex mutex_;
    std::vector<std::unique_ptr<Session>> idle_;
};

}  // namespace strata::detail::s3
