// A backup's manifest as list(), the keyless structural check and the key
// check read it back from a store. The plain manifest ends in a SHA-256 that
// a mutation cannot forge, so the target also seals what it is given (as
// checkpoint_summary does) and the fields behind the seal get fuzzed. The
// same bytes are read as a stored summary too (plain size, plain manifest,
// the copy sealed under the data key), which only ever fails as corrupt, or
// as rejected or a newer format under the key.
#include "backup_key.hpp"
#include "fuzz_support.hpp"
#include "strata/backup/detail/manifest.hpp"

using namespace strata;
namespace bk = strata::detail::backup;

namespace {

void check_plain(std::string_view plain) {
    const auto m = bk::decode_manifest(plain);
    if (!m) return;
    STRATA_FUZZ_CHECK(is_base(m->info.type) == m->info.parent.empty());
    STRATA_FUZZ_CHECK(m->info.id.size() <= max_checkpoint_id_size && m->info.parent.size() <= max_checkpoint_id_size);
    // What a store reads, it writes again as a manifest that reads the same.
    const std::string again = bk::encode_manifest(*m);
    const auto back = bk::decode_manifest(again);
    STRATA_FUZZ_CHECK(back && bk::encode_manifest(*back) == again);
    STRATA_FUZZ_CHECK(back->info.id == m->info.id && back->info.parent == m->info.parent &&
                      back->info.type == m->info.type && back->info.version_cut == m->info.version_cut &&
                      back->records_part.sha256 == m->records_part.sha256 && back->keys_hash == m->keys_hash);
}

void check_stored(std::string_view stored) {
    const auto parts = bk::split_summary(stored);
    const auto m = parts ? bk::decode_manifest(parts->first) : std::nullopt;
    const std::string id = m ? m->info.id : "fuzz";
    fuzz::returns_or_fails_as({ErrorKind::corrupt}, [&] { bk::read_manifest(stored, id, "list"); });
    fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::rejected, ErrorKind::invalid},
                              [&] { bk::authenticate_manifest(stored, fuzz::fixed_backup_key(), id); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);
    check_plain(in);
    check_stored(in);
    std::string sealed(in);
    bk::put_digest(sealed, sha256(in));
    check_plain(sealed);
    return 0;
}
