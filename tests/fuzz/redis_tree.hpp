#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>  // uint8_t, uint64_t
#include <deque>
#include <string>
#include <string_view>
#include <vector>

// Builds a redisReply tree from fuzz bytes (see redis_reply.cpp for the
// encoding) and owns it: the nodes are the harness's, not hiredis's, so
// freeReplyObject never sees them. Shapes follow hiredis: strings are
// NUL-terminated, arrays with elements have an element vector.
namespace strata::fuzz {

class ReplyTree {
public:
    static constexpr int max_depth = 8;

    explicit ReplyTree(std::string_view in) : in_(in) { root_ = node(0); }

    const redisReply& root() const noexcept { return *root_; }

private:
    std::uint8_t byte() {
        if (in_.empty()) return 0;
        const auto b = static_cast<std::uint8_t>(in_.front());
        in_.remove_prefix(1);
        return b;
    }

    redisReply* node(int depth) {
        redisReply& r = nodes_.emplace_back();
        r.type = byte() % 8;
        switch (r.type) {
            case REDIS_REPLY_INTEGER: {
                std::uint64_t v = 0;
                for (int i = 0; i < 8; ++i) v |= std::uint64_t{byte()} << (8 * i);
                r.integer = static_cast<long long>(v);
                break;
            }
            case REDIS_REPLY_NIL: break;
            case REDIS_REPLY_ARRAY: {
                const std::size_t n = depth < max_depth ? byte() : 0;
                auto& children = elements_.emplace_back();
                for (std::size_t i = 0; i < n; ++i) children.push_back(node(depth + 1));
                r.elements = n;
                r.element = n ? children.data() : nullptr;
                break;
            }
            default: {
                std::size_t len = byte();
                len |= std::size_t{byte()} << 8;
                const std::string& s = strings_.emplace_back(in_.substr(0, len));
                in_.remove_prefix(s.size());
                r.str = const_cast<char*>(s.c_str());  // hiredis's field is not const
                r.len = s.size();
            }
        }
        return &r;
    }

    std::string_view in_;
    std::deque<redisReply> nodes_;  // deque: nodes stay in place as it grows
    std::deque<std::vector<redisReply*>> elements_;
    std::deque<std::string> strings_;
    redisReply* root_ = nullptr;
};

}  // namespace strata::fuzz
