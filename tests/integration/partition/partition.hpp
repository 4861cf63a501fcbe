#pragma once
// Network partitions on loopback: nftables rules that drop every packet to
// and from a server's port on `lo`, so the server neither answers nor refuses
// (established connections stall, new ones never complete). The rules live in
// a table of this process's own, removed when the guard goes, and by the
// suite's cleanup fixture should the process die first.

#include <unistd.h>  // getpid

#include <cstdio>   // popen
#include <cstdlib>  // system
#include <stdexcept>
#include <string>
#include <vector>

namespace strata_test::partition {

// The table this process's rules live in; the cleanup fixture removes every
// table with this stem.
inline std::string table() { return "strata_partition_" + std::to_string(::getpid()); }

// Runs an nft script; true if nft took it.
inline bool nft(const std::string& script) {
    FILE* p = ::popen("nft -f - >/dev/null 2>&1", "w");
    if (!p) return false;
    std::fputs(script.c_str(), p);
    return ::pclose(p) == 0;
}

// Why partitions cannot be made here (nft missing, or not permitted), or
// empty when they can: tried on a throwaway table.
inline std::string unsupported() {
    if (std::system("command -v nft >/dev/null 2>&1") != 0) return "nft (nftables) is not installed";
    const std::string probe = table() + "_probe";
    if (!nft("add table inet " + probe + "\ndelete table inet " + probe + "\n"))
        return "nft may not change the rule set here (needs CAP_NET_ADMIN, e.g. root)";
    return {};
}

// Drops, while it lives, all TCP to and from the given ports on loopback.
// Only the input hook: a packet dropped on output would fail the sender's
// call at once (EPERM), which is a refusal, not a partition.
class Partition {
public:
    explicit Partition(std::vector<int> ports) {
        std::string script = "add table inet " + table() + "\n" + "add chain inet " + table() +
                             " input { type filter hook input priority -300; policy accept; }\n";
        for (const int p : ports) {
            const auto port = std::to_string(p);
            script += "add rule inet " + table() + " input iifname \"lo\" tcp dport " + port + " drop\n";
            script += "add rule inet " + table() + " input iifname \"lo\" tcp sport " + port + " drop\n";
        }
        if (!nft(script)) {
            heal();
            throw std::runtime_error("nft refused the partition rules for table " + table());
        }
    }
    Partition(const Partition&) = delete;
    Partition& operator=(const Partition&) = delete;
    ~Partition() { heal(); }

    // Removes the rules now (idempotent).
    void heal() {
        if (!healed_) (void)nft("delete table inet " + table() + "\n");
        healed_ = true;
    }

private:
    bool healed_ = false;
};

}  // namespace strata_test::partition
