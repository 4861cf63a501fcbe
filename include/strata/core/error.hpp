#pragma once

#include <stdexcept>  // runtime_error
#include <string>
#include <string_view>

namespace strata {

// What went wrong, so a program can act on it:
//   unavailable  the backend could not be reached or failed; retry later
//   timeout      no answer within the configured time; the call may or may
//                not have taken effect; retry later
//   corrupt      stored bytes failed verification; repair or restore
//   rejected     the backend refused: authentication, permission, quota
//   not_found    a named object (checkpoint, backup) does not exist
//   conflict     a newer version is already stored; the write did not apply
//   invalid      a malformed request or a broken contract (the caller's bug)
enum class ErrorKind { unavailable, timeout, corrupt, rejected, not_found, conflict, invalid };

constexpr std::string_view to_string(ErrorKind k) noexcept {
    switch (k) {
        case ErrorKind::unavailable: return "unavailable";
        case ErrorKind::timeout: return "timeout";
        case ErrorKind::corrupt: return "corrupt";
        case ErrorKind::rejected: return "rejected";
        case ErrorKind::not_found: return "not_found";
        case ErrorKind::conflict: return "conflict";
        case ErrorKind::invalid: return "invalid";
    }
    return "unknown";
}

// A backend failure. Never carries secrets: tiers put the operation and the
// server's message here, not credentials or connection strings.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string tier, std::string operation, const std::string& detail)
        : std::runtime_error(format(kind, tier, operation, detail)),
          kind_(kind),
          tier_(std::move(tier)),
          operation_(std::move(operation)) {}

    ErrorKind kind() const noexcept { return kind_; }
    const std::string& tier() const noexcept { return tier_; }
    const std::string& operation() const noexcept { return operation_; }

    // Worth retrying later: the request itself was fine.
    bool transient() const noexcept {
        return kind_ == ErrorKind::unavailable || kind_ == ErrorKind::timeout;
    }

private:
    static std::string format(ErrorKind kind, const std::string& tier, const std::string& op,
                              const std::string& detail) {
        std::string s = "strata: ";
        s += tier.empty() ? "?" : tier;
        s += ' ';
        s += op;
        s += " failed (";
        s += to_string(kind);
        s += ')';
        if (!detail.empty()) {
            s += ": ";
            s += detail;
        }
        return s;
    }

    ErrorKind kind_;
    std::string tier_;
    std::string operation_;
};

}  // namespace strata
