// The mark of a context that an incoming live migration made on this host: <context>/arriving,
// holding the domain's UUID, written by the destination's `migrate begin` (prepare_incoming)
// when the context's data comes from that migration (made anew, or a stale overlay replaced).
//
// libvirt tells the destination nothing when a migration completes: its hook sees migrate,
// prepare, start and started before the memory moves, then only stopped/release, whether the
// guest ran here for days or the migration failed part-way (network cut, source aborted). So the
// mark stays until something shows which way it went (settle_arrival):
//   - another host records the same domain (UUID) as running: the migration never completed and
//     the instance runs on there, on its own overlay. This context holds at most part of a
//     mirror: this host's usage record goes and the context is moved aside
//     (instance/migrated_context.hpp; `appshare gc` removes it, the domain not being defined
//     here and a live host running it). Moved, never deleted: a source that died between the
//     end of a migration and its own release leaves the same records behind.
//   - no other host records it running: it arrived; the mark goes.
//   - the records cannot all be read (the cut took the shared storage too): nothing changes,
//     and `appshare gc` settles it later, or the next migration of it here replaces the context.
// Settled at the destination's `release` (the first after the arrival, or a later one when that
// could not tell) and by `appshare gc` for a context whose domain is not defined here. (Not at a
// start: libvirt runs `prepare begin` for the incoming domain too.)
#pragma once

#include "base/result.hpp"
#include "instance/context.hpp"
#include "store/usage_records.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// Marks `context` as arriving for domain `uuid`. Errors: Io, UnsafePath.
[[nodiscard]] Result<void> mark_arriving(const ContextLayout& context, std::string_view uuid);

// The UUID the mark names; nullopt when there is no mark (or it names no valid UUID).
[[nodiscard]] Result<std::optional<std::string>> arriving_uuid(const ContextLayout& context);

// Removes the mark; succeeds when there is none.
[[nodiscard]] Result<void> clear_arriving(const ContextLayout& context);

enum class ArrivalOutcome {
    NotArriving,  // no mark
    Arrived,      // the mark removed
    Failed,       // the instance runs on elsewhere: record removed, context moved aside
    Undecided,    // the records could not all be read: nothing changed
};

struct ArrivalSettled {
    ArrivalOutcome outcome = ArrivalOutcome::NotArriving;
    std::string runs_on;               // Failed: the host that runs the instance
    std::filesystem::path kept_at;     // Failed: where the context was moved
};

// Settles the mark of domain `name`'s context in `context_root` as described above, judged from
// `records` (usage records of every host; `complete` false when some could not be read).
// Errors: Io, UnsafePath, AlreadyExists (from moving the context aside).
[[nodiscard]] Result<ArrivalSettled> settle_arrival(const std::filesystem::path& shared_root,
                                                    const std::filesystem::path& context_root, std::string_view name,
                                                    const std::vector<UsageRecord>& records, bool complete);

}  // namespace appshare
