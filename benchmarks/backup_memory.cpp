// A full backup of 100,000 keys of 512 bytes held in a MemoryTier, into a
// DirectoryBackupStore in a temporary directory, beside the raw work over the
// same key and value bytes in the same run: each key and value behind a
// 4-byte length, deflated by zlib level 1 in one stream, every 64 KiB of it
// sealed with AES-256-GCM (OpenSSL EVP, one context, a counter nonce), the
// sealed file hashed with SHA-256 and written to a file in the same directory.
// `vs_raw` = backup MB/s / raw MB/s (criterion: >= 0.5), with fsync of the
// file on (the store's default) and off on both sides.
#include <benchmark/benchmark.h>
#include <fcntl.h>   // open
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>  // write, fsync, close

#include <array>
#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <filesystem>
#include <memory>  // unique_ptr
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bench_common.hpp"
#include "common/temp_dir.hpp"
#include "strata/backup/backup_manager.hpp"
#include "strata/backup/directory_store.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/codec/zlib_stream.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/promotion/never_promote.hpp"
#include "strata/tiers/memory.hpp"

namespace {

namespace fs = std::filesystem;
using strata::bench::Times;
using strata::bench::capture_data;
using strata::bench::capture_keys;
using strata::bench::capture_payload_bytes;
using strata::bench::capture_value_size;
using strata::bench::timed;
using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier>;

// ---- the raw side: what a careful user writes with zlib and OpenSSL --------

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("raw backup: " + what); }

struct CipherFree {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
struct DigestFree {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// Seals pieces with AES-256-GCM (ciphertext, then the 16-byte tag), hashes
// what it writes with SHA-256 and writes it to `path`.
class SealedFile {
public:
    SealedFile(const fs::path& path, bool fsync) : fsync_(fsync), cipher_(EVP_CIPHER_CTX_new()), digest_(EVP_MD_CTX_new()) {
        std::array<std::uint8_t, 32> key{};
        if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) fail("RAND_bytes");
        if (!cipher_ || EVP_EncryptInit_ex(cipher_.get(), EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1)
            fail("EVP_EncryptInit_ex");
        if (!digest_ || EVP_DigestInit_ex(digest_.get(), EVP_sha256(), nullptr) != 1) fail("EVP_DigestInit_ex");
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd_ < 0) fail("open " + path.string());
    }
    SealedFile(const SealedFile&) = delete;
    SealedFile& operator=(const SealedFile&) = delete;
    ~SealedFile() {
        if (fd_ >= 0) ::close(fd_);
    }

    void seal(std::string_view plain) {
        std::array<std::uint8_t, 12> nonce{};
        for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(segments_ >> (8 * (7 - i)));
        ++segments_;
        sealed_.resize(plain.size() + 16);
        auto* out = reinterpret_cast<unsigned char*>(sealed_.data());
        int len = 0, tail = 0;
        if (EVP_EncryptInit_ex(cipher_.get(), nullptr, nullptr, nullptr, nonce.data()) != 1 ||
            EVP_EncryptUpdate(cipher_.get(), out, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                              static_cast<int>(plain.size())) != 1 ||
            EVP_EncryptFinal_ex(cipher_.get(), out + len, &tail) != 1 ||
            EVP_CIPHER_CTX_ctrl(cipher_.get(), EVP_CTRL_GCM_GET_TAG, 16, out + plain.size()) != 1)
            fail("AES-256-GCM");
        if (EVP_DigestUpdate(digest_.get(), sealed_.data(), sealed_.size()) != 1) fail("SHA-256");
        if (::write(fd_, sealed_.data(), sealed_.size()) != static_cast<ssize_t>(sealed_.size())) fail("write");
        bytes_ += sealed_.size();
    }

    // The file's size; it is on disk (synced if asked) when this returns.
    std::uint64_t finish() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
        unsigned int hash_size = 0;
        if (EVP_DigestFinal_ex(digest_.get(), hash.data(), &hash_size) != 1) fail("SHA-256");
        benchmark::DoNotOptimize(hash);
        if (fsync_ && ::fsync(fd_) != 0) fail("fsync");
        if (::close(fd_) != 0) fail("close");
        fd_ = -1;
        return bytes_;
    }

private:
    bool fsync_;
    std::unique_ptr<EVP_CIPHER_CTX, CipherFree> cipher_;
    std::unique_ptr<EVP_MD_CTX, DigestFree> digest_;
    int fd_ = -1;
    std::string sealed_;
    std::uint64_t segments_ = 0;
    std::uint64_t bytes_ = 0;
};

void put_length(std::string& out, std::size_t n) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>(n >> (8 * (3 - i)));
}

// Serialises into 64 KiB pieces for zlib; zlib hands out 64 KiB chunks, each
// sealed as one segment. Returns the file's size.
std::uint64_t raw_backup(const fs::path& path, bool fsync) {
    SealedFile file(path, fsync);
    strata::codec::Deflater deflate(1);
    auto seal = [&](std::string_view chunk) { file.seal(chunk); };
    std::string plain;
    plain.reserve(strata::codec::zlib_chunk_size + capture_value_size + 64);
    for (const auto& [k, v] : capture_data()) {
        put_length(plain, k.size());
        plain += k;
        put_length(plain, v.size());
        plain += v;
        if (plain.size() >= strata::codec::zlib_chunk_size) {
            deflate.write(plain, seal);
            plain.clear();
        }
    }
    deflate.write(plain, seal);
    deflate.finish(seal);
    return file.finish();
}

// The baseline for vs_raw, per fsync setting: the best of three runs.
const Times& raw_best(bool fsync) {
    static const auto measure = [](bool sync) {
        const strata::testing::TempDir dir("strata-bench-backup");
        return strata::bench::best_of(3, [&] { return timed([&] { raw_backup(dir.path / "raw", sync); }); });
    };
    static const Times with_fsync = measure(true), without_fsync = measure(false);
    return fsync ? with_fsync : without_fsync;
}

// arg 0: fsync (1 on, 0 off)
void BM_RawZlibAesGcmSha256(benchmark::State& state) {
    const bool fsync = state.range(0) != 0;
    const strata::testing::TempDir dir("strata-bench-backup");
    Times total;
    std::uint64_t stored = 0;
    for (auto _ : state) {
        const Times t = timed([&] { stored = raw_backup(dir.path / "raw", fsync); });
        total += t;
        state.SetIterationTime(t.wall);
    }
    strata::bench::report_vs_raw(state, capture_payload_bytes(), total, raw_best(fsync));
    state.counters["stored_MB"] = static_cast<double>(stored) / 1e6;
}

// ---- the library side -------------------------------------------------------

Manager& manager() {
    static Manager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    static const bool filled = (mgr.set_many(capture_data()), true);
    (void)filled;
    return mgr;
}

// arg 0: fsync (1 on, 0 off)
void BM_FullBackup(benchmark::State& state) {
    const bool fsync = state.range(0) != 0;
    const strata::testing::TempDir dir("strata-bench-backup");
    auto store_options = strata::DirectoryBackupStore::backup_defaults();
    store_options.fsync = fsync;
    strata::BackupManager backups{manager(), strata::DirectoryBackupStore{dir.path, store_options},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    // Untimed: the first backup into the store also makes its key ring.
    backups.remove(backups.create(strata::BackupType::full).id);
    Times total;
    std::uint64_t stored = 0;
    for (auto _ : state) {
        strata::BackupInfo info;
        const Times t = timed([&] { info = backups.create(strata::BackupType::full); });
        total += t;
        state.SetIterationTime(t.wall);
        if (info.key_count != capture_keys || info.changed_keys != capture_keys) state.SkipWithError("wrong key count");
        stored = info.stored_bytes;
        backups.remove(info.id);
    }
    strata::bench::report_vs_raw(state, capture_payload_bytes(), total, raw_best(fsync));
    state.counters["stored_MB"] = static_cast<double>(stored) / 1e6;
}

}  // namespace

BENCHMARK(BM_RawZlibAesGcmSha256)->Arg(1)->Arg(0)->ArgName("fsync")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_FullBackup)->Arg(1)->Arg(0)->ArgName("fsync")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

BENCHMARK_MAIN();
