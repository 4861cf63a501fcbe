#pragma once

#include <stdio.h>  // rename
#include <unistd.h>  // unlink

#include <cerrno>
#include <chrono>
#include <cstdio>  // snprintf
#include <ctime>   // gmtime_r
#include <filesystem>
#include <string>
#include <string_view>

#include "strata/recovery/health_report.hpp"
#include "strata/recovery/detail/restore_sources.hpp"
#include "strata/recovery/incident.hpp"
#include "strata/recovery/recovery_options.hpp"
#include "strata/tiers/detail/file_io.hpp"

// The Markdown checklist an escalation hands to a person: what failed and
// when, what automation tried, every tier as the last probe round saw it,
// and what to do next. It carries messages and names, never key values.
namespace strata::detail::recovery {

inline std::string utc(Clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((ms % 1000 + 1000) % 1000));
    return buf;
}

inline std::string duration_text(Clock::duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms < 10'000) return std::to_string(ms) + " ms";
    return std::to_string(ms / 1000) + " s";
}

// Fits a message into one table cell: no line breaks or pipes, and bounded,
// so a handler's long message cannot bury the checklist.
inline std::string cell(std::string_view text) {
    constexpr std::size_t limit = 300;
    std::string out;
    for (const char c : text.substr(0, limit)) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r' || c == '\t')
            out += ' ';
        else
            out += c;
    }
    if (text.size() > limit) out += "...";
    return out.empty() ? "-" : out;
}

inline std::string next_steps(const FailureEvent& e, const RecoveryOptions& o) {
    const std::string tier = e.tier.empty() ? "the tier" : "`" + cell(e.tier) + "`";
    switch (e.type) {
        case FailureType::tier_down:
            return "1. Find why " + tier +
                   " stopped answering: is its server running, is its host reachable from this machine, what do "
                   "its logs say around the detection time?\n"
                   "2. Bring it back (restart the server, fix the network or the credentials). Meanwhile reads skip "
                   "it and every acknowledged write is in the first durable tier.\n"
                   "3. Restarting this process is safe: the marks of keys the tier missed are kept in the first "
                   "durable tier. A hot tier serves again once reconciled (automatic, or `mgr.reconcile(index)`).\n"
                   "4. If the tier is durable and comes back empty or behind, restore it from a restore point "
                   "listed below with the call shown, after comparing what the tier holds with it: writes after "
                   "the point are lost by the restore.\n"
                   "5. Watch the probe rounds (every " +
                   std::to_string(o.probe_interval.count()) +
                   " ms): one good round marks it up, and the incident records its RTO.\n";
        case FailureType::data_corruption:
            return "1. Keep every checkpoint and backup: suspend retention until this is settled.\n"
                   "2. See which tier counts corrupt copies (the `corrupt` column below) and check its storage for "
                   "errors, and for anything writing it behind strata.\n"
                   "3. The keys named in the errors above have no valid copy provably as new: write them again "
                   "from the service's own source, or restore from a restore point below (`mgr.scrub()` lists "
                   "what is left).\n";
        case FailureType::memory_pressure:
            return "1. Compare the process's resident memory with the limit set for it.\n"
                   "2. Shrink the cache (`mgr.invalidate_cache()`, a smaller capacity) and move idle keys down "
                   "(`mgr.demote_idle(age, strata::warm)`).\n"
                   "3. If memory keeps growing, raise the limit or move load elsewhere before the kernel kills the "
                   "process.\n";
        case FailureType::disk_full:
            return "1. Check free space (`df`) on the volume of the FileTier root and of the checkpoint and backup "
                   "directories.\n"
                   "2. Remove expired records (`mgr.sweep_expired()`) and apply retention "
                   "(`Checkpointer::apply_retention`, `BackupManager::apply_retention`).\n"
                   "3. Grow the volume. Never delete files by hand under a FileTier root or a store directory while "
                   "processes use it.\n";
        case FailureType::network_partition:
            return "1. From this host, check the route and firewall to each server; the table below shows which "
                   "tiers answer.\n"
                   "2. Writes that failed were not acknowledged; acknowledged ones are in the first durable tier.\n"
                   "3. Once it heals, a hot tier cut off serves again only after it is reconciled (automatic, or "
                   "`mgr.reconcile(index)`).\n";
        case FailureType::checkpoint_failed:
            return "1. Read each attempt's error below (space, permissions, a corrupt record).\n"
                   "2. Check the checkpoint store's free space and permissions.\n"
                   "3. Create a checkpoint by hand and verify it (`Checkpointer::create`, `verify`); until one "
                   "succeeds, the newest verified checkpoint ages past the RPO target.\n";
        case FailureType::backup_failed:
            return "1. Read each attempt's error below (space, permissions, the key ring, the store).\n"
                   "2. Check the backup store and that the encryption key opens its key ring.\n"
                   "3. Run a backup by hand and test it (`BackupManager::create`, `test_restore`); until one "
                   "succeeds, the newest verified backup ages past the RPO target.\n";
        case FailureType::custom:
            return "1. Follow the runbook for `" + cell(e.name) +
                   "`.\n"
                   "2. Fix what the errors below point at, then report the failure again to rerun automation, or "
                   "finish by hand.\n";
    }
    return {};
}

inline std::string restore_points(const RestorePointList& list) {
    if (!list.any_source)
        return "None: no checkpoint or backup was given to `recovery.use()`; restore from what the service keeps "
               "elsewhere.\n";
    std::string md;
    if (list.points.empty()) md += "No checkpoint or backup verified.\n";
    if (!list.points.empty()) md += "| source | id | created | restore with |\n|---|---|---|---|\n";
    for (const auto& p : list.points)
        md += "| " + p.source + " | " + cell(p.id) + " | " + utc(p.created_at) + " | `" +
              (p.source == "checkpoint" ? "ckpt.rollback(\"" : "backups.restore(\"") + cell(p.id) + "\")` |\n";
    for (const auto& e : list.errors) md += "\n- Could not list: " + cell(e) + "\n";
    return md;
}

inline std::string checklist(const Incident& incident, const HealthReport& last_round, const RecoveryOptions& o,
                             const RestorePointList& points) {
    const FailureEvent& e = incident.event;
    std::string md = "# Incident " + incident.id + ": " + std::string(to_string(e.type));
    if (!e.name.empty()) md += " `" + cell(e.name) + "`";
    if (!e.tier.empty()) md += " in tier `" + cell(e.tier) + "`";
    md += "\n\nAutomation gave up";
    if (incident.escalated_at) md += " at " + utc(*incident.escalated_at);
    md += ": " + cell(incident.escalation_reason) + ".\n\n## What failed\n\n";
    md += "- Type: " + std::string(to_string(e.type)) + "\n";
    if (!e.name.empty()) md += "- Name: " + cell(e.name) + "\n";
    if (!e.tier.empty()) md += "- Tier: " + cell(e.tier) + "\n";
    md += "- Detected: " + utc(e.detected_at) + "\n";
    if (!e.detail.empty()) md += "- Detail: " + cell(e.detail) + "\n";
    md += "- RTO target: " + duration_text(o.rto_target) + ", RPO target: " + duration_text(o.rpo_target) + "\n";

    md += "\n## What automation tried\n\n";
    if (incident.attempts.empty()) {
        md += "Nothing: no handler ran.\n";
    } else {
        md += "| attempt | started | ended | result | error |\n|---|---|---|---|---|\n";
        for (const auto& a : incident.attempts)
            md += "| " + std::to_string(a.number) + " | " + utc(a.started) + " | " + utc(a.ended) + " | " +
                  (a.ok ? "ok" : a.timed_out ? "timed out" : "failed") + " | " + cell(a.error) + " |\n";
    }

    md += "\n## Tiers at the last probe round\n\n";
    if (last_round.round == 0) {
        md += "No probe round has run yet.\n";
    } else {
        md += "Round " + std::to_string(last_round.round) + " at " + utc(last_round.at) + ".\n\n";
        md += "| tier | temperature | durable | state | failed rounds | last error | probe latency | failures | "
              "corrupt | stale keys |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for (const auto& t : last_round.tiers)
            md += "| " + cell(t.name) + " | " + std::string(to_string(t.temperature)) + " | " +
                  (t.durable ? "yes" : "no") + " | " + (t.up ? "up" : "DOWN") + " | " +
                  std::to_string(t.consecutive_failures) + " | " + cell(t.last_error) + " | " +
                  std::to_string(t.probe_latency.count() / 1000) + " ms | " + std::to_string(t.health.failures) +
                  " | " + std::to_string(t.health.corrupt) + " | " + std::to_string(t.health.stale_keys) + " |\n";
    }

    md += "\n## Newest verified restore points\n\n" + restore_points(points);
    md += "\n## What to do next\n\n" + next_steps(e, o);
    md += "\nWhen done, keep this file with the incident's record.\n";
    return md;
}

// Writes `text` to `<dir>/<id>.md` whole or not at all (temporary file,
// fsync, rename, fsync of the directory); creates `dir` if missing. Throws
// strata::Error on failure.
inline std::filesystem::path write_checklist(const std::filesystem::path& dir, const std::string& id,
                                             std::string_view text) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(ErrorKind::unavailable, "recovery", "escalate", dir.string() + ": " + ec.message());
    const auto target = dir / (id + ".md");
    const auto temp = detail::file::write_temp(dir, text, true);
    if (temp.err != 0) detail::file::fail("recovery", "escalate", dir, temp.err);
    if (::rename(temp.path.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.path.c_str());
        detail::file::fail("recovery", "escalate", target, err);
    }
    detail::file::fsync_dir(dir, "recovery", "escalate");
    return target;
}

}  // namespace strata::detail::recovery
