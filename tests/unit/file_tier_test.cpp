// FileTier: the shared tier conformance suite, then what only a tier made of
// files has to get right: path encoding, staying inside its root, corrupt
// files, I/O errors, concurrent writers and crash safety under kill -9.

#include "strata/tiers/file.hpp"

#include <strata/strata.hpp>  // demote_idle and checkpoints over FileTier

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>   // printf
#include <cstdlib>  // mkdtemp
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/tier_conformance.hpp"
#include "common/tier_wrappers.hpp"

namespace fs = std::filesystem;
using strata::Clock;
using strata::FileTier;
using strata::FileTierOptions;
using strata::Record;
using strata::conformance::random_bytes;
using strata::conformance::sorted;
using strata::conformance::test_record;

namespace {

// A fresh directory under the test temp dir, removed with everything in it.
class ScratchDir {
public:
    ScratchDir() {
        std::string pattern = (fs::path(::testing::TempDir()) / "strata-file-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Every file and directory under `dir`, as paths relative to it, but for
// the lock file that every FileTier root holds.
std::vector<std::string> tree(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path() != dir / strata::detail::file::lock_name) out.push_back(fs::relative(e.path(), dir).string());
    return sorted(out);
}

std::vector<std::string> temp_files(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().starts_with(strata::detail::file::temp_prefix)) out.push_back(e.path());
    return out;
}

void write_raw(const fs::path& path, std::string_view bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_raw(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

fs::path file_of(const FileTier& tier, std::string_view key) { return tier.root() / strata::detail::file::encode_key(key); }

// A pid that belonged to a process that has exited.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

// Keys drawn mostly from the bytes that matter to paths, plus any byte.
std::string random_key(std::mt19937_64& rng) {
    static constexpr std::string_view special = "./\\%_-* ?[]'\"~:aZ09";
    const std::size_t size = 1 + rng() % (rng() % 4 == 0 ? strata::max_key_size : 40);
    std::string key(size, 'x');
    for (auto& c : key) {
        c = rng() % 2 ? special[rng() % special.size()] : static_cast<char>(1 + rng() % 255);
    }
    return key;
}

// A fresh root in its own scratch directory, which dispose() removes.
fs::path fresh_root() {
    std::string pattern = (fs::path(::testing::TempDir()) / "strata-conformance-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return fs::path(pattern) / "root";
}

struct FileTierFactory {
    static FileTier make() { return FileTier(fresh_root()); }
    static void dispose(FileTier& tier) { fs::remove_all(tier.root().parent_path()); }
};

// The same suite without fsync and compression: the other path through store.
struct PlainFileTierFactory {
    static FileTier make() {
        return FileTier(fresh_root(), FileTierOptions{.compression = {.enabled = false}, .fsync = false});
    }
    static void dispose(FileTier& tier) { fs::remove_all(tier.root().parent_path()); }
};

// The value written with `version`: one of four large values, chosen by the
// version, so a torn or mixed file cannot pass for a whole one.
std::string crash_value(std::uint64_t version) {
    return random_bytes((1 << 20) + version % 4 * 4096, version % 4);
}

}  // namespace

namespace strata::conformance {
using FileFactories = ::testing::Types<FileTierFactory, PlainFileTierFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(File, TierConformance, FileFactories);
}

// ---- path encoding -------------------------------------------------------

TEST(FilePathEncoding, RoundTripsRandomKeysIntoSafeComponents) {
    std::mt19937_64 rng(7);
    std::set<std::string> paths;
    for (int i = 0; i < 3000; ++i) {
        const std::string key = random_key(rng);
        const std::string path = strata::detail::file::encode_key(key);
        SCOPED_TRACE(path);
        ASSERT_EQ(strata::detail::file::decode_path(path), key);
        EXPECT_LE(path.size(), strata::detail::file::max_encoded_size);
        EXPECT_EQ(path.front() == '/', false);
        std::size_t start = 0;
        for (;;) {
            const std::size_t slash = path.find('/', start);
            const std::string component = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
            EXPECT_FALSE(component.empty());
            EXPECT_LE(component.size(), 255u);
            EXPECT_NE(component.front(), '.');  // never ".", "..", hidden or a temp name
            for (const char c : component)
                EXPECT_TRUE(strata::detail::file::plain_byte(static_cast<unsigned char>(c)) || c == '%') << int(c);
            if (slash == std::string::npos) {
                EXPECT_TRUE(component.ends_with(".rec"));
                break;
            }
            EXPECT_TRUE(component.ends_with(".d"));
            start = slash + 1;
        }
        paths.insert(path);
    }
    EXPECT_GT(paths.size(), 2900u);  // distinct keys, distinct paths (decoding is exact)
}

TEST(FilePathEncoding, HostileKeys) {
    using strata::detail::file::encode_key;
    EXPECT_EQ(encode_key("plain-key_1.json"), "plain-key_1.json.rec");
    EXPECT_EQ(encode_key("."), "%2E.rec");
    EXPECT_EQ(encode_key(".."), "%2E..rec");
    EXPECT_EQ(encode_key("a/../b"), "a%2F..%2Fb.rec");
    EXPECT_EQ(encode_key("100%"), "100%25.rec");
    EXPECT_EQ(encode_key("\xff"), "%FF.rec");
    for (const auto& key : strata::conformance::hostile_keys()) EXPECT_EQ(strata::detail::file::decode_path(encode_key(key)), key);
    // The longest key of the worst bytes still fits NAME_MAX per component.
    const std::string worst(strata::max_key_size, '/');
    const std::string path = encode_key(worst);
    EXPECT_EQ(strata::detail::file::decode_path(path), worst);
    EXPECT_EQ(path.size(), strata::detail::file::max_encoded_size);
    EXPECT_GT(std::count(path.begin(), path.end(), '/'), 10);
}

TEST(FilePathEncoding, DecodesOnlyCanonicalNames) {
    using strata::detail::file::decode_path;
    EXPECT_EQ(decode_path("abc.rec"), "abc");
    for (const char* stray : {"abc", "abc.d", ".rec", "%2e.rec", "%41.rec", "%4.rec", "%.rec", "a%zz.rec", ".x.rec",
                              "a b.rec", "x.d.rec/y.rec", "short.d/y.rec", "%00.rec", ".strata-tmp-1-2"})
        EXPECT_FALSE(decode_path(stray).has_value()) << stray;
}

// ---- files and directories ---------------------------------------------

TEST(FileTier, CreatesRootAndNothingOutsideIt) {
    ScratchDir scratch;
    write_raw(scratch.path() / "outside.txt", "keep me");
    FileTier tier(scratch.path() / "a" / "b" / "root", {.fsync = false});  // about paths, not durability
    ASSERT_TRUE(fs::is_directory(scratch.path() / "a" / "b" / "root"));

    std::mt19937_64 rng(11);
    std::vector<std::string> keys = strata::conformance::hostile_keys();
    for (const char* k : {"/etc/passwd", "../outside.txt", "../../x", "..\\..\\x", "~/x", "/", "root/../../y"}) keys.push_back(k);
    for (int i = 0; i < 200; ++i) keys.push_back(random_key(rng));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& k : keys) tier.store(k, test_record(k));

    for (const auto& e : fs::recursive_directory_iterator(scratch.path())) {
        const std::string rel = fs::relative(e.path(), scratch.path()).string();
        if (rel == "outside.txt" || rel == "a" || rel == "a/b" || rel == "a/b/root") continue;
        EXPECT_TRUE(rel.starts_with("a/b/root/")) << rel;
        EXPECT_LE(e.path().filename().string().size(), 255u);
    }
    EXPECT_EQ(read_raw(scratch.path() / "outside.txt"), "keep me");
    EXPECT_EQ(sorted(tier.keys("*")), keys);
    for (const auto& k : keys) {
        const auto got = tier.fetch(k);
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(got->value, k);
    }
    EXPECT_EQ(tier.erase_many(keys), keys.size());
    EXPECT_TRUE(tree(tier.root()).empty()) << "erase must prune the directories it emptied";
}

TEST(FileTier, CorruptOrTruncatedFilesReadAsUnreadableRecords) {
    ScratchDir scratch;
    FileTier tier(scratch.path(), {.compression = {.enabled = false}});
    const Record good = test_record(std::string(300, 'v'), 5);
    const std::string envelope = strata::envelope::encode(good);
    const std::vector<std::pair<std::string, std::string>> damaged = {
        {"flipped", [&] { auto s = envelope; s.back() ^= 1; return s; }()},
        {"truncated-header", envelope.substr(0, 40)},
        {"truncated-value", envelope.substr(0, envelope.size() - 10)},
        {"padded", envelope + "xx"},
        {"empty", ""},
        {"garbage", random_bytes(500, 3)},
    };
    tier.store("good", good);
    for (const auto& [key, bytes] : damaged) write_raw(file_of(tier, key), bytes);

    for (const auto& [key, bytes] : damaged) {
        SCOPED_TRACE(key);
        std::optional<Record> got;
        ASSERT_NO_THROW(got = tier.fetch(key));
        ASSERT_TRUE(got.has_value());
        EXPECT_FALSE(got->intact());
    }
    std::vector<std::string> all = {"good"};
    for (const auto& d : damaged) all.push_back(d.first);
    const auto many = tier.fetch_many(all);
    ASSERT_TRUE(many[0].has_value());
    EXPECT_TRUE(many[0]->intact());
    for (std::size_t i = 1; i < many.size(); ++i) EXPECT_FALSE(many[i]->intact()) << all[i];
    // Listed, so the manager can find and repair them; sweeping leaves them.
    EXPECT_EQ(sorted(tier.keys("*")), sorted(all));
    EXPECT_EQ(tier.sweep_expired(), 0u);
    EXPECT_TRUE(tier.erase("garbage"));
}

TEST(FileTier, StrayFilesAreIgnored) {
    ScratchDir scratch;
    FileTier tier(scratch.path());
    tier.store("real", test_record("v"));
    for (const char* stray : {"README", "%41.rec", "lower%2f.rec", ".hidden.rec", "junk/inner.rec", "x.d/%2e.rec"})
        write_raw(scratch.path() / stray, "not a record");
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"real"});
    EXPECT_EQ(tier.stats().keys, 1u);
    EXPECT_TRUE(fs::exists(scratch.path() / "README"));
}

TEST(FileTier, ExpiredFilesAreRemovedOnReadAndBySweep) {
    ScratchDir scratch;
    FileTier tier(scratch.path());
    const auto past = Clock::now() - std::chrono::seconds{5};
    const std::string long_key(600, 'e');  // lives in nested directories
    for (const std::string& k : {std::string("read-me"), std::string("sweep-me"), long_key})
        write_raw(file_of(tier, k), strata::envelope::encode(test_record("old", 1, past)));
    tier.store("live", test_record("v"));

    EXPECT_EQ(tier.stats().keys, 4u);  // on disk until read or swept
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"live"});
    EXPECT_FALSE(tier.fetch("read-me").has_value());
    EXPECT_FALSE(fs::exists(file_of(tier, "read-me")));
    EXPECT_FALSE(tier.erase("sweep-me")) << "an expired record does not count as erased";
    write_raw(file_of(tier, "sweep-me"), strata::envelope::encode(test_record("old", 1, past)));
    EXPECT_EQ(tier.sweep_expired(), 2u);
    EXPECT_EQ(tree(scratch.path()), std::vector<std::string>{"live.rec"});
    EXPECT_EQ(tier.sweep_expired(), 0u);
}

TEST(FileTier, IoErrorsThrowStrataErrorNamingTierAndOperation) {
    ScratchDir scratch;
    write_raw(scratch.path() / "a-file", "x");
    try {
        FileTier bad(scratch.path() / "a-file");
        ADD_FAILURE() << "a root that is a file was accepted";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.operation(), "open");
    }

    // A root so long that the longest keys would overflow PATH_MAX.
    const fs::path deep = scratch.path() / std::string(240, 'r') / std::string(240, 'r') / std::string(240, 'r') /
                          std::string(240, 'r');
    try {
        FileTier bad(deep);
        ADD_FAILURE() << "a root too long for the longest keys was accepted";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::rejected);
    }
    EXPECT_FALSE(fs::exists(scratch.path() / std::string(240, 'r')));

    FileTier tier(scratch.path() / "root", {.name = "disk"});
    EXPECT_EQ(tier.name(), "disk");
    // A long key needs a directory; put a file in its way.
    const std::string key(300, 'k');
    const fs::path path = file_of(tier, key);
    write_raw(tier.root() / fs::relative(path, tier.root()).begin()->string(), "in the way");
    try {
        tier.store(key, test_record("v"));
        ADD_FAILURE() << "store through a file succeeded";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.tier(), "disk");
        EXPECT_EQ(e.operation(), "store");
        EXPECT_TRUE(e.transient());
    }
    EXPECT_FALSE(tier.fetch(key).has_value());

    if (::geteuid() != 0) {  // root ignores permissions
        fs::permissions(tier.root(), fs::perms::owner_read | fs::perms::owner_exec);
        try {
            tier.store("k", test_record("v"));
            ADD_FAILURE() << "store into a read-only directory succeeded";
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), strata::ErrorKind::rejected);
        }
        EXPECT_FALSE(tier.ping());
        fs::permissions(tier.root(), fs::perms::owner_all);
    }
    EXPECT_TRUE(tier.ping());
}

TEST(FileTier, OptionsControlCompressionAndStats) {
    ScratchDir scratch;
    FileTier packed(scratch.path() / "packed");
    FileTier plain(scratch.path() / "plain", {.compression = {.enabled = false}, .fsync = false});
    const Record big = test_record(std::string(100'000, 'z'));
    packed.store("k", big);
    plain.store("k", big);
    EXPECT_LT(fs::file_size(file_of(packed, "k")), 10'000u);
    EXPECT_EQ(fs::file_size(file_of(plain, "k")), strata::envelope::header_size + big.value.size());
    EXPECT_EQ(packed.fetch("k")->value, big.value);
    const auto st = plain.stats();
    EXPECT_EQ(st.keys, 1u);
    EXPECT_EQ(st.bytes, strata::envelope::header_size + big.value.size());
}

TEST(FileTier, IsMoveConstructible) {
    ScratchDir scratch;
    FileTier a(scratch.path());
    a.store("k", test_record("v"));
    FileTier b(std::move(a));
    EXPECT_EQ(b.fetch("k")->value, "v");
    b.store("k2", test_record("w"));
    EXPECT_EQ(b.keys("*").size(), 2u);
}

// ---- temporary files -------------------------------------------------------

TEST(FileTier, TemporaryFilesAreNeverListedAndAbandonedOnesAreCleaned) {
    ScratchDir scratch;
    const std::string prefix(strata::detail::file::temp_prefix);
    const fs::path dead = scratch.path() / (prefix + std::to_string(dead_pid()) + "-0");
    const fs::path live = scratch.path() / (prefix + std::to_string(::getpid()) + "-999999");
    const fs::path old = scratch.path() / "nested.d" / (prefix + std::to_string(::getpid()) + "-999998");
    for (const auto& p : {dead, live, old}) write_raw(p, "partial");
    const auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours{24};
    fs::last_write_time(old, day_ago);

    FileTier keep(scratch.path(), {.clean_temp_on_open = false});
    keep.store("k", test_record("v"));
    EXPECT_EQ(keep.keys("*"), std::vector<std::string>{"k"});
    EXPECT_EQ(keep.stats().keys, 1u);
    EXPECT_EQ(temp_files(scratch.path()).size(), 3u);

    FileTier tier(scratch.path());  // cleans on open
    EXPECT_FALSE(fs::exists(dead)) << "its writer is gone";
    EXPECT_FALSE(fs::exists(old)) << "older than stale_temp_age";
    EXPECT_FALSE(fs::exists(scratch.path() / "nested.d")) << "emptied directory is pruned";
    EXPECT_TRUE(fs::exists(live)) << "a live writer's file must survive";
    fs::remove(live);
    write_raw(dead, "partial");
    EXPECT_EQ(tier.sweep_expired(), 0u);
    EXPECT_FALSE(fs::exists(dead)) << "sweep cleans too";
    EXPECT_EQ(tier.fetch("k")->value, "v");
}

// ---- concurrency -------------------------------------------------------------

TEST(FileTier, ConcurrentWritersOfOneKeyNeverTearIt) {
    ScratchDir scratch;
    FileTier tier(scratch.path(), {.fsync = false});
    constexpr int writers = 4, rounds = 60;
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
        while (!done) {
            if (auto r = tier.fetch("hot")) {
                ++reads;
                if (!r->intact() || r->value.size() != 20'000 + r->version) ++torn;
            }
        }
    });
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < rounds; ++i) {
                const std::uint64_t version = static_cast<std::uint64_t>(w * rounds + i);
                tier.store("hot", test_record(random_bytes(20'000 + version, version), version));
            }
        });
    for (auto& t : threads) t.join();
    done = true;
    reader.join();
    EXPECT_EQ(torn.load(), 0);
    const auto final = tier.fetch("hot");
    ASSERT_TRUE(final.has_value());
    EXPECT_TRUE(final->intact());
    EXPECT_TRUE(temp_files(scratch.path()).empty());
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"hot"});
}

// Stores and erases of long keys that share directories race with the
// pruning of empty directories; every thread's last word must stand.
TEST(FileTier, ConcurrentStoresAndErasesInSharedDirectories) {
    ScratchDir scratch;
    FileTier tier(scratch.path(), {.fsync = false});
    const std::string shared(450, 's');  // two directory levels shared by all keys
    constexpr int threads_n = 4, keys_per_thread = 8, ops = 400;
    std::vector<std::set<std::string>> expected(threads_n);
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t)
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<std::uint64_t>(t));
            for (int i = 0; i < ops; ++i) {
                const std::string key = shared + std::to_string(t) + "-" + std::to_string(rng() % keys_per_thread);
                if (rng() % 2) {
                    tier.store(key, test_record(key));
                    expected[t].insert(key);
                } else {
                    EXPECT_EQ(tier.erase(key), expected[t].erase(key) == 1);
                }
            }
        });
    for (auto& t : threads) t.join();
    std::vector<std::string> want;
    for (const auto& s : expected) want.insert(want.end(), s.begin(), s.end());
    EXPECT_EQ(sorted(tier.keys("*")), sorted(want));
    for (const auto& k : want) EXPECT_EQ(tier.fetch(k)->value, k);
}

// ---- crash safety ----------------------------------------------------------

TEST(FileTier, KillNineDuringWritesLeavesOldOrNewValue) {
    ScratchDir scratch;
    const fs::path root = scratch.path() / "root";
    {
        FileTier tier(root);
        tier.store("key", test_record(crash_value(1), 1));
    }
    // Built before forking, so the child spends its time writing.
    std::vector<Record> values;
    for (std::uint64_t v = 0; v < 4; ++v) values.push_back(test_record(crash_value(v), v));
    std::mt19937_64 rng(99);
    int rounds_with_leftovers = 0;
    for (int round = 0; round < 20; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::alarm(10);  // never outlive a broken parent
            FileTier tier(root, {.compression = {.enabled = false}, .clean_temp_on_open = false});
            for (std::uint64_t version = (static_cast<std::uint64_t>(round) + 1) * 1'000'000;; ++version) {
                Record r = values[version % 4];
                r.version = version;
                tier.store("key", r);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 80));
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        FileTier reader(root, {.clean_temp_on_open = false});
        rounds_with_leftovers += temp_files(root).empty() ? 0 : 1;
        EXPECT_EQ(reader.keys("*"), std::vector<std::string>{"key"});
        const auto got = reader.fetch("key");
        ASSERT_TRUE(got.has_value());
        EXPECT_TRUE(got->intact());
        EXPECT_TRUE(got->value == crash_value(got->version)) << "version " << got->version;

        FileTier cleaner(root);
        EXPECT_TRUE(temp_files(root).empty());
    }
    std::printf("[          ] %d of 20 kills left a temporary file behind\n", rounds_with_leftovers);
}

// ---- the stripe locks ----------------------------------------------------------

TEST(FileStripeLocks, StripesAreTheSameInEveryProcess) {
    using strata::detail::file::stable_hash;
    // Published FNV-1a 64 values: a seeded or build-dependent hash fails here.
    EXPECT_EQ(stable_hash(""), 0xcbf29ce484222325ull);
    EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(stable_hash("foobar"), 0x85944171f73967e8ull);
}

// Two lock objects on one root exclude each other on a shared stripe (as two
// processes do), and not on another stripe.
TEST(FileStripeLocks, ExcludeEachOtherAcrossDescriptors) {
    ScratchDir scratch;
    strata::detail::file::StripeLocks a(scratch.path(), "file"), b(scratch.path(), "file");
    std::string other = "other";
    while (strata::detail::file::stable_hash(other) % a.stripes == strata::detail::file::stable_hash("key") % a.stripes)
        other += '+';
    std::atomic<bool> taken{false};
    std::thread waiter;
    {
        const auto held = a.lock("key", "test");
        { const auto free_stripe = b.lock(other, "test"); }
        waiter = std::thread([&] {
            const auto mine = b.lock("key", "test");
            taken = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
        EXPECT_FALSE(taken.load()) << "b took a stripe that a holds";
    }
    waiter.join();
    EXPECT_TRUE(taken.load());
}

TEST(FileStripeLocks, LockFileIsMadeOnOpenAndNeverListed) {
    ScratchDir scratch;
    FileTier tier(scratch.path());
    const fs::path lock = scratch.path() / strata::detail::file::lock_name;
    EXPECT_TRUE(fs::is_regular_file(lock));
    tier.store("k", test_record("v"));
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"k"});
    EXPECT_EQ(tier.stats().keys, 1u);
    EXPECT_TRUE(tier.erase("k"));
    EXPECT_EQ(tier.sweep_expired(), 0u);
    FileTier again(scratch.path());  // cleans temporary files on open
    EXPECT_TRUE(fs::is_regular_file(lock));
}

TEST(FileStripeLocks, AnUnusableLockFileFailsTheOpen) {
    ScratchDir scratch;
    fs::create_directories(scratch.path() / strata::detail::file::lock_name);
    try {
        FileTier tier(scratch.path(), {.name = "disk"});
        ADD_FAILURE() << "opened without its lock file";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.tier(), "disk");
        EXPECT_EQ(e.operation(), "open");
        EXPECT_NE(std::string(e.what()).find(std::string(strata::detail::file::lock_name)), std::string::npos);
    }
}

// ---- expired records removed by other FileTiers ------------------------------
//
// Two FileTier objects on one root hold separate lock descriptors, so within
// one process they race exactly as two processes do.

namespace {

// A writer's rounds, cut short on a slow disk.
constexpr int race_rounds = 160;
constexpr auto race_time = std::chrono::milliseconds{1200};
// Keys are reused round-robin: few files, because unlinking many freshly
// renamed files is slow on ext4.
constexpr int race_keys = 16;

std::string race_key(int round) { return "k-" + std::to_string(round % race_keys); }
std::string race_value(int round) { return "live:" + std::to_string(round); }

// One writer round: the key with an expiry a moment away, then live. The
// expired record invites another tier to remove it just as the live one
// replaces it. First checks that the key's previous round survived;
// returns false when it did not.
bool write_round(FileTier& tier, int round) {
    const std::string key = race_key(round);
    bool kept = true;
    if (round >= race_keys) {
        const auto before = tier.fetch(key);
        kept = before && before->value == race_value(round - race_keys);
    }
    tier.store(key, test_record("fading", 1, Clock::now() + std::chrono::microseconds{20}));
    tier.store(key, test_record(race_value(round), 2));
    return kept;
}

// Fetches the key of the round a writer is on, and sweeps, until `stop`:
// both remove the expired records they see.
std::vector<std::thread> remove_expired_until(FileTier& tier, const std::atomic<int>& round,
                                              const std::atomic<bool>& stop) {
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        while (!stop) (void)tier.fetch(race_key(round));
    });
    threads.emplace_back([&] {
        while (!stop) tier.sweep_expired();
    });
    return threads;
}

// How many of the last race_keys rounds before `rounds` are not on disk.
int lost_last_rounds(FileTier& tier, int rounds) {
    int lost = 0;
    for (int i = std::max(0, rounds - race_keys); i < rounds; ++i) {
        const auto got = tier.fetch(race_key(i));
        lost += got && got->value == race_value(i) ? 0 : 1;
    }
    return lost;
}

}  // namespace

TEST(FileTier, ExpiredRemovalByAnotherTierNeverLosesAWrite) {
    ScratchDir scratch;
    FileTier writer(scratch.path(), {.fsync = false});
    FileTier remover(scratch.path(), {.fsync = false});
    std::atomic<int> round{0};
    std::atomic<bool> stop{false};
    auto removers = remove_expired_until(remover, round, stop);
    const auto deadline = Clock::now() + race_time;
    int lost = 0;
    for (; round < race_rounds && Clock::now() < deadline; ++round) lost += write_round(writer, round) ? 0 : 1;
    stop = true;
    for (auto& t : removers) t.join();
    EXPECT_GT(round.load(), race_keys);
    lost += lost_last_rounds(remover, round);
    EXPECT_EQ(lost, 0) << "acknowledged writes lost, of " << round.load();
}

// The same race between processes, through one tier opened before fork
// (the child must not share the parent's lock descriptor). The child writes,
// checks each key's previous round before reusing it, and reports every
// acknowledged round through a pipe; the parent removes expired records,
// then checks the last rounds itself.
TEST(FileTier, ExpiredRemovalInAnotherProcessNeverLosesAWrite) {
    ScratchDir scratch;
    FileTier tier(scratch.path(), {.fsync = false});
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::alarm(10);  // never outlive a broken parent
        ::close(acks[0]);
        int lost = 0;
        try {
            const auto deadline = Clock::now() + race_time;
            for (int i = 0; i < race_rounds && Clock::now() < deadline; ++i) {
                lost += write_round(tier, i) ? 0 : 1;
                if (::write(acks[1], &i, sizeof i) != sizeof i) ::_exit(101);
            }
        } catch (...) {
            ::_exit(102);
        }
        ::_exit(std::min(lost, 100));
    }
    ::close(acks[1]);
    std::atomic<int> round{0};
    std::atomic<bool> stop{false};
    auto removers = remove_expired_until(tier, round, stop);
    for (int i = 0; ::read(acks[0], &i, sizeof i) == sizeof i; round = i + 1) {
    }
    stop = true;
    for (auto& t : removers) t.join();
    ::close(acks[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "acknowledged writes the child found lost (101, 102: it failed)";
    EXPECT_GT(round.load(), race_keys);
    EXPECT_EQ(lost_last_rounds(tier, round), 0) << "of the last " << race_keys << " rounds";
}

// ---- use stamps: idle_keys, peek_many, demote_idle, checkpoints ----------

namespace {

using namespace std::chrono_literals;

FileTierOptions exact_stamps(std::string name = "file") {
    return {.fsync = false, .name = std::move(name), .access_resolution = 0ms};
}

}  // namespace

TEST(FileTier, IdleKeysAreThoseNeitherWrittenNorFetchedLately) {
    ScratchDir dir;
    FileTier tier{dir.path(), exact_stamps()};
    tier.store("read", test_record("v", 1));
    tier.store("peeked", test_record("v", 1));
    tier.store("untouched", test_record("v", 1));
    tier.store("expired", test_record("v", 1, Clock::now() + 20ms));
    std::this_thread::sleep_for(60ms);
    tier.store("written", test_record("v", 2));
    ASSERT_TRUE(tier.fetch("read"));
    const std::vector<std::string> peek{"peeked"};
    ASSERT_TRUE(tier.peek_many(peek)[0]);
    EXPECT_EQ(sorted(tier.idle_keys(40ms)), (std::vector<std::string>{"peeked", "untouched"}));
    EXPECT_TRUE(tier.idle_keys(1h).empty());
    EXPECT_EQ(tier.idle_keys(0ms).size(), 4u);  // every live key; never the expired one
}

TEST(FileTier, AFetchStampsAtMostOncePerResolution) {
    ScratchDir dir;
    FileTier tier{dir.path(), {.fsync = false, .access_resolution = 1h}};
    tier.store("k", test_record("v", 1));
    std::this_thread::sleep_for(30ms);
    ASSERT_TRUE(tier.fetch("k"));  // written 30 ms ago: within the hour, not stamped again
    EXPECT_EQ(tier.idle_keys(20ms), std::vector<std::string>{"k"});
}

TEST(FileTier, ChangedSinceListsNewerLiveKeysAndUnreadableOnes) {
    ScratchDir dir;
    FileTier tier{dir.path(), exact_stamps()};
    tier.store("old", test_record("v", 10));
    tier.store("new", test_record("v", 20));
    tier.store("gone", test_record("v", 30, Clock::now() + 20ms));
    tier.store("torn", test_record("v", 5));
    std::this_thread::sleep_for(40ms);
    fs::resize_file(file_of(tier, "torn"), 7);  // not even a header left
    EXPECT_EQ(sorted(tier.changed_since(10)), (std::vector<std::string>{"new", "torn"}));
    EXPECT_EQ(sorted(tier.changed_since(0)), (std::vector<std::string>{"new", "old", "torn"}));
}

TEST(FileTier, DemoteIdleMovesTheKeysAFileTierReportsIdle) {
    ScratchDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{},
                             strata::testing::Switchable<FileTier, strata::Temperature::hot>{
                                 FileTier{dir.path() / "hot", exact_stamps("hot")}},
                             strata::testing::Switchable<FileTier, strata::Temperature::cold>{
                                 FileTier{dir.path() / "cold", exact_stamps("cold")}}};
    mgr.set("idle", "a");
    mgr.set("used", "b");
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(mgr.get("used"), "b");  // a read through the manager is a use
    EXPECT_EQ(mgr.demote_idle(40ms, strata::cold), 1u);
    EXPECT_EQ(mgr.tier<1>().keys("*"), std::vector<std::string>{"idle"});
    EXPECT_EQ(mgr.tier<0>().keys("*"), std::vector<std::string>{"used"});
    EXPECT_EQ(mgr.get("idle"), "a");
}

TEST(FileTier, ACheckpointCaptureLeavesUseStampsAlone) {
    ScratchDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, FileTier{dir.path() / "tier", exact_stamps()}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path() / "ckpt", {.fsync = false}}};
    mgr.set("a", "1");
    mgr.set("b", "2");
    std::this_thread::sleep_for(60ms);
    const auto before = mgr.tier<0>().idle_keys(40ms);
    ASSERT_EQ(before.size(), 2u);
    EXPECT_EQ(ckpt.create().key_count, 2u);
    EXPECT_EQ(sorted(mgr.tier<0>().idle_keys(40ms)), sorted(before)) << "the capture counted as use";
}
