#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>  // size_t
#include <memory>   // unique_ptr
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/error.hpp"

namespace strata::detail::redis {

struct FreeReply {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};

// A reply owned by the caller; hiredis allocates one tree per reply.
using Reply = std::unique_ptr<redisReply, FreeReply>;

// The arguments of one command, kept with their lengths so that keys and
// values are sent as bytes (NUL, CR, LF and all); never a format string.
class Command {
public:
    Command() = default;
    explicit Command(std::string_view name) { arg(name); }

    // The view must outlive the command: the bytes are not copied.
    Command& arg(std::string_view a) {
        argv_.push_back(a.data());
        argvlen_.push_back(a.size());
        return *this;
    }

    // For arguments made on the fly (counts, cursors): owned by the command.
    Command& own(std::string a) {
        owned_.push_back(std::make_unique<std::string>(std::move(a)));
        return arg(*owned_.back());
    }

    void reserve(std::size_t n) {
        argv_.reserve(n);
        argvlen_.reserve(n);
    }

    int argc() const noexcept { return static_cast<int>(argv_.size()); }
    const char** argv() noexcept { return argv_.data(); }
    const std::size_t* argvlen() const noexcept { return argvlen_.data(); }
    std::string_view name() const noexcept {
        return argv_.empty() ? std::string_view{} : std::string_view(argv_[0], argvlen_[0]);
    }

private:
    std::vector<const char*> argv_;
    std::vector<std::size_t> argvlen_;
    // unique_ptr keeps each string's bytes in place when the vector grows.
    std::vector<std::unique_ptr<std::string>> owned_;
};

// key_prefix + key for a batch, in one buffer instead of one string per
// key; views stay valid for the object's life.
class PrefixedKeys {
public:
    template <class Range, class KeyOf>
    PrefixedKeys(std::string_view prefix, const Range& items, KeyOf key_of) {
        std::size_t total = 0;
        for (const auto& item : items) total += prefix.size() + key_of(item).size();
        bytes_.reserve(total);
        views_.reserve(items.size());
        for (const auto& item : items) {
            const std::size_t at = bytes_.size();
            bytes_ += prefix;
            bytes_ += key_of(item);
            views_.emplace_back(bytes_.data() + at, bytes_.size() - at);
        }
    }
    PrefixedKeys(const PrefixedKeys&) = delete;  // the views point into bytes_
    PrefixedKeys& operator=(const PrefixedKeys&) = delete;

    std::string_view operator[](std::size_t i) const noexcept { return views_[i]; }
    std::size_t size() const noexcept { return views_.size(); }

private:
    std::string bytes_;
    std::vector<std::string_view> views_;
};

inline std::string_view text(const redisReply& r) noexcept { return {r.str ? r.str : "", r.len}; }

// The kind of a server error reply, from its first word (Redis's error code).
//   unavailable  the server's state, which passes: loading, busy with a script,
//                a replica or cluster without its primary, a failed snapshot,
//                no client slots left
//   rejected     authentication, ACL permission, the maxmemory limit (a quota)
//   invalid      anything else: a type the tier never writes (WRONGTYPE), a
//                command or argument the server does not take (ERR, ...)
inline ErrorKind classify_error_reply(std::string_view message) noexcept {
    const std::string_view code = message.substr(0, message.find(' '));
    for (std::string_view passing : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MISCONF",
                                     "NOREPLICAS", "NOMASTERLINK"})
        if (code == passing) return ErrorKind::unavailable;
    for (std::string_view refused : {"NOAUTH", "WRONGPASS", "NOPERM", "OOM"})
        if (code == refused) return ErrorKind::rejected;
    // Codes Redis never gave their own word: a password before ACLs, full client slots.
    for (std::string_view refused : {"ERR invalid password", "ERR AUTH", "ERR Client sent AUTH"})
        if (message.starts_with(refused)) return ErrorKind::rejected;
    if (message.starts_with("ERR max number of clients reached")) return ErrorKind::unavailable;
    return ErrorKind::invalid;
}

// Throws for an error reply; the server's message names no secrets.
inline void check(const redisReply& r, std::string_view tier, std::string_view op) {
    if (r.type == REDIS_REPLY_ERROR)
        throw Error(classify_error_reply(text(r)), std::string(tier), std::string(op),
                    "server replied: " + std::string(text(r)));
}

// A reply of a type the command never returns: the server broke its contract.
[[noreturn]] inline void unexpected(const redisReply& r, std::string_view tier, std::string_view op) {
    throw Error(ErrorKind::invalid, std::string(tier), std::string(op),
                "unexpected reply of type " + std::to_string(r.type));
}

inline long long integer(const redisReply& r, std::string_view tier, std::string_view op) {
    check(r, tier, op);
    if (r.type != REDIS_REPLY_INTEGER) unexpected(r, tier, op);
    return r.integer;
}

inline const redisReply& array(const redisReply& r, std::string_view tier, std::string_view op) {
    check(r, tier, op);
    if (r.type != REDIS_REPLY_ARRAY) unexpected(r, tier, op);
    return r;
}

inline void status(const redisReply& r, std::string_view tier, std::string_view op) {
    check(r, tier, op);
    if (r.type != REDIS_REPLY_STATUS) unexpected(r, tier, op);
}

}  // namespace strata::detail::redis
