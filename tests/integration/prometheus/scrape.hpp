#pragma once
// What the prometheus bridge tests need around a scrape: an HTTP GET with
// libcurl, the text exposition parsed into samples, and promtool's verdict.

#include <curl/curl.h>
#include <sys/wait.h>  // WEXITSTATUS

#include <algorithm>
#include <charconv>  // to_chars
#include <cstddef>  // size_t
#include <cstdio>   // popen
#include <fstream>
#include <limits>  // infinity
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/temp_dir.hpp"

namespace strata::testing {

struct HttpResponse {
    long status = 0;
    std::string content_type;
    std::string body;
};

inline HttpResponse http_get(const std::string& url) {
    CURL* curl = curl_easy_init();
    if (!curl) throw std::runtime_error("curl_easy_init failed");
    HttpResponse out;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* body) {
        static_cast<std::string*>(body)->append(data, size * n);
        return size * n;
    });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
    const CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
        char* type = nullptr;
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
        if (type) out.content_type = type;
    }
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) throw std::runtime_error("GET " + url + ": " + curl_easy_strerror(rc));
    return out;
}

// One sample line: `name{label="value",...} value`, its labels sorted by name
// so two writers' lines compare whatever order they put labels in.
struct ParsedSample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;

    // name{a="x",b="y",}, label values as written (escaped), `le` in its
    // shortest form (5e-05 and 0.00005 are one bound).
    std::string key() const {
        std::string out = name + "{";
        for (const auto& [label, value] : labels) {
            out += label + "=\"";
            if (label == "le" && value != "+Inf") {
                char bound[32];
                out.append(bound, std::to_chars(bound, bound + sizeof bound, std::stod(value)).ptr);
            } else {
                out += value;
            }
            out += "\",";
        }
        return out + "}";
    }
};

struct Exposition {
    std::map<std::string, std::string> types;  // family -> counter, gauge, histogram
    std::map<std::string, double> samples;     // ParsedSample::key() -> value

    // The value of sample `key`; fails the lookup loudly, naming the key.
    double at(const std::string& key) const {
        auto it = samples.find(key);
        if (it == samples.end()) throw std::out_of_range("no sample " + key);
        return it->second;
    }
};

namespace detail {

inline double parse_sample_value(std::string_view text) {
    if (text == "+Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    if (text == "NaN" || text == "Nan") return std::numeric_limits<double>::quiet_NaN();
    std::size_t used = 0;
    const double value = std::stod(std::string(text), &used);
    if (used != text.size()) throw std::invalid_argument("not a sample value: " + std::string(text));
    return value;
}

inline ParsedSample parse_sample_line(std::string_view line) {
    ParsedSample out;
    std::size_t at = line.find_first_of("{ ");
    if (at == std::string_view::npos) throw std::invalid_argument("not a sample line: " + std::string(line));
    out.name = line.substr(0, at);
    if (line[at] == '{') {
        ++at;
        while (line.at(at) != '}') {
            const std::size_t eq = line.find('=', at);
            std::string label(line.substr(at, eq - at));
            if (line.at(eq + 1) != '"') throw std::invalid_argument("unquoted label value: " + std::string(line));
            std::string value;
            for (at = eq + 2; line.at(at) != '"'; ++at) {
                if (line[at] == '\\') value += line[at++];
                value += line.at(at);
            }
            out.labels.emplace_back(std::move(label), std::move(value));
            ++at;
            if (line.at(at) == ',') ++at;
        }
        ++at;
    }
    if (line.at(at) != ' ') throw std::invalid_argument("no value: " + std::string(line));
    std::string_view rest = line.substr(at + 1);
    rest = rest.substr(0, rest.find(' '));  // a timestamp may follow
    out.value = parse_sample_value(rest);
    std::sort(out.labels.begin(), out.labels.end());
    return out;
}

}  // namespace detail

inline Exposition parse_exposition(std::string_view text) {
    Exposition out;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty()) continue;
        if (line.starts_with("# TYPE ")) {
            const std::string_view rest = line.substr(7);
            const std::size_t space = rest.find(' ');
            out.types[std::string(rest.substr(0, space))] = std::string(rest.substr(space + 1));
        } else if (line[0] != '#') {
            const auto sample = detail::parse_sample_line(line);
            if (!out.samples.emplace(sample.key(), sample.value).second)
                throw std::invalid_argument("sample written twice: " + sample.key());
        }
    }
    return out;
}

struct PromtoolVerdict {
    int exit_code = -1;
    std::string output;  // its complaints, one a line
};

// `promtool check metrics` over `text` (installed by scripts/deps.sh).
inline PromtoolVerdict promtool_check_metrics(const std::string& text) {
    TempDir dir{"strata-promtool"};
    const auto file = dir.path / "metrics.txt";
    std::ofstream{file} << text;
    const std::string command = "promtool check metrics < '" + file.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run: " + command);
    PromtoolVerdict out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.output.append(buffer, n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

}  // namespace strata::testing
