#pragma once

#include <hiredis/hiredis.h>
#include <poll.h>      // poll: is an idle connection still open?
#include <sys/time.h>  // timeval

#include <cerrno>
#include <chrono>
#include <memory>  // unique_ptr
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/detail/socket.hpp"
#include "strata/core/error.hpp"
#include "strata/tiers/redis/reply.hpp"

namespace strata::detail::redis {

// Where and how to connect; built from RedisOptions by the tier.
struct Settings {
    std::string host;
    int port = 6379;
    std::string unix_socket;
    int db = 0;
    std::string username;
    std::string password;
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};
};

inline timeval to_timeval(std::chrono::milliseconds ms) {
    const auto count = ms.count() > 0 ? ms.count() : 1;  // zero would mean "wait forever"
    return timeval{static_cast<time_t>(count / 1000), static_cast<suseconds_t>((count % 1000) * 1000)};
}

// hiredis 0.14 reports a socket timeout as an I/O error with errno EAGAIN
// (read/write) or ETIMEDOUT (connect); 1.x adds REDIS_ERR_TIMEOUT.
inline bool is_timeout(int err, int saved_errno) noexcept {
#ifdef REDIS_ERR_TIMEOUT
    if (err == REDIS_ERR_TIMEOUT) return true;
#endif
    return err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
                                   saved_errno == EINPROGRESS);
}

// One blocking hiredis connection with connect and command timeouts. Any
// I/O failure marks it broken: its reply stream may be out of step with its
// commands, so the pool drops it instead of reusing it.
class Connection {
public:
    Connection(const Settings& s, std::string_view tier) : tier_(tier) {
        const timeval connect_tv = to_timeval(s.connect_timeout);
        errno = 0;
        ctx_.reset(s.unix_socket.empty() ? redisConnectWithTimeout(s.host.c_str(), s.port, connect_tv)
                                         : redisConnectUnixWithTimeout(s.unix_socket.c_str(), connect_tv));
        const int saved_errno = errno;
        const std::string where = s.unix_socket.empty() ? s.host + ":" + std::to_string(s.port) : s.unix_socket;
        if (!ctx_) throw Error(ErrorKind::unavailable, tier_, "connect", "cannot allocate a connection to " + where);
        if (ctx_->err)
            throw Error(is_timeout(ctx_->err, saved_errno) ? ErrorKind::timeout : ErrorKind::unavailable, tier_,
                        "connect", "cannot connect to " + where + ": " + ctx_->errstr);
        if (redisSetTimeout(ctx_.get(), to_timeval(s.command_timeout)) != REDIS_OK)
            throw Error(ErrorKind::unavailable, tier_, "connect", "cannot set the command timeout on " + where);
        // Redis 6 ACL users authenticate with a name; older servers take the password alone.
        if (!s.username.empty() || !s.password.empty()) {
            Command auth("AUTH");
            if (!s.username.empty()) auth.arg(s.username);
            auth.arg(s.password);
            status(*run(auth, "auth"), tier_, "auth");
        }
        if (s.db != 0) {
            Command select("SELECT");
            select.own(std::to_string(s.db));
            status(*run(select, "select"), tier_, "select");
        }
    }

    // Usable for another command: no I/O error so far and, since the server
    // may have closed it while it sat idle (a restart), not closed by peer.
    bool healthy() const noexcept {
        if (broken_ || ctx_->err) return false;
        pollfd p{ctx_->fd, POLLIN, 0};
        // An idle connection has nothing to read; readable means EOF or a stray reply.
        return ::poll(&p, 1, 0) == 0;
    }

    // Keeps the pool from lending it again: a command changed the session
    // (CLIENT NO-TOUCH) and undoing it failed.
    void discard() noexcept { broken_ = true; }

    // One command, one round trip. Error replies are returned, not thrown.
    Reply run(Command& cmd, std::string_view op) {
        errno = 0;
        Reply r(static_cast<redisReply*>(redisCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.argvlen())));
        if (!r) fail(op, errno);
        return r;
    }

    // Sends every command before reading any reply: one round trip for all.
    // Replies come back in order; error replies are returned, not thrown.
    std::vector<Reply> pipeline(std::span<Command> cmds, std::string_view op) {
        for (auto& c : cmds)
            if (redisAppendCommandArgv(ctx_.get(), c.argc(), c.argv(), c.argvlen()) != REDIS_OK) fail(op, errno);
        std::vector<Reply> replies;
        replies.reserve(cmds.size());
        for (std::size_t i = 0; i < cmds.size(); ++i) replies.push_back(next(op));
        return replies;
    }

    // Appends without reading, for pipelines built as they go (SCAN batches).
    void append(Command& cmd, std::string_view op) {
        if (redisAppendCommandArgv(ctx_.get(), cmd.argc(), cmd.argv(), cmd.argvlen()) != REDIS_OK) fail(op, errno);
    }

    Reply next(std::string_view op) {
        errno = 0;
        void* raw = nullptr;
        if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || !raw) fail(op, errno);
        return Reply(static_cast<redisReply*>(raw));
    }

private:
    [[noreturn]] void fail(std::string_view op, int saved_errno) {
        broken_ = true;
        // The pool closes it next: a command the server has not yet received dies with it.
        if (ctx_->fd >= 0) abort_on_close(ctx_->fd);
        const int err = ctx_->err;
        const bool timed_out = is_timeout(err, saved_errno);
        std::string why = err ? ctx_->errstr : "no reply";
        if (err == REDIS_ERR_EOF) why = "server closed the connection";
        throw Error(timed_out ? ErrorKind::timeout : ErrorKind::unavailable, tier_, std::string(op),
                    timed_out ? "no reply within the command timeout (" + why + ")" : why);
    }

    struct Free {
        void operator()(redisContext* c) const noexcept { redisFree(c); }
    };
    std::string tier_;
    std::unique_ptr<redisContext, Free> ctx_;
    bool broken_ = false;
};

}  // namespace strata::detail::redis
