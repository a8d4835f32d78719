// A live migration of an appshare instance (`virsh migrate --live`), the instance's side of it.
// libvirt runs the hook on the destination with `migrate begin` (then prepare, start, started)
// before QEMU opens any disk there, and on the source with `stopped` / `release` once the
// guest runs on the destination. Neither call says more than that, so what each host does is
// judged from the files:
//
// Destination, prepare_incoming (the hook's `migrate begin`; a failure refuses the migration
// and the domain runs on at the source): lock-and-load as for a start (prepare_instance: the
// base from the shared storage or its sources, the independent fallback, the context folder,
// the overlay backed by the base link, the boot links, instance.json naming this host). Two
// kinds of context arrive:
//   - host-local (context_root on this host): there is none here, or one this host left at an
//     earlier stay (instance.json names this host and no QEMU anywhere has its overlay open).
//     That one's overlay is stale and is replaced by an empty one: `--copy-storage-inc` mirrors
//     only the clusters the source's overlay holds, so anything else in it would show through.
//   - on the shared storage (context_root on the shared volume): the source runs on the very
//     same files, its QEMU holds the overlay's image locks, and nothing is changed but the base
//     check; `virsh migrate --live` copies no disk at all.
// A context this call made is removed again when it fails: nothing half-made stays. One it made
// or replaced is marked as arriving (instance/arrival.hpp) until a release or `appshare gc`
// here tells whether the migration completed.
//
// An independent instance arrives as a new context, so the destination tries the shared base
// first: on a destination whose shared base is healthy it runs shared again (instance.json says
// so), else it makes its own host-local copy and stays independent there.
//
// A copy this host kept at an earlier migration away (instance/migrated_context.hpp) is
// discarded once the incoming migration makes the context anew (none here, or a stale overlay
// replaced): its data comes from the migration.
//
// Source, after_release (the hook's `release end`): the domain migrated away when another host
// now records the same domain (same UUID) as running since it started here. Then this host's
// usage record goes (the bookkeeping moved with the domain), and a host-local context is moved
// aside, never deleted: that judgement rests on records, and a stale "running" record of a
// destination that died makes an ordinary stop look the same. A context on the shared storage,
// which the destination runs on, is left alone. A stop that is no migration changes nothing.
// The same release settles a context still marked as arriving (instance/arrival.hpp): a
// migration to here that failed part-way (network cut, source aborted) ends with it, and then
// the instance runs on at its source.
//
// Start, prepare_start (the hook's `prepare begin`): prepare_instance, unless
//   - the instance has no overlay because its context was moved aside: then the start is
//     refused, never made on a new empty overlay (a source that kept its definition);
//   - a QEMU holds its overlay's image locks and its instance.json names another host: a
//     context on the shared storage that runs there (a host that defined the same instance).
//     The start is refused before anything in the context is touched; QEMU's image locks, or
//     the lock manager's lease on the overlay (virtlockd, lock_manager = "lockd"), would refuse
//     it a moment later anyway. (On the destination of a live migration, whose `prepare` also
//     runs while the source's QEMU holds the locks, instance.json names this host already.)
#pragma once

#include "base/result.hpp"
#include "instance/arrival.hpp"
#include "instance/config.hpp"
#include "instance/instance_paths.hpp"
#include "instance/lock_and_load.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// Whether a QEMU (on any host whose locks reach this file system) has `overlay` open: QEMU
// takes byte-range locks on an image it opens (bytes 100 to 299 of the file); false when the
// file is missing or holds none. Errors: Io when the file cannot be opened or tested.
[[nodiscard]] Result<bool> image_in_use(const std::filesystem::path& overlay);

// Lock-and-load for a start, as described above.
[[nodiscard]] Result<PrepareOutcome> prepare_start(const Config& config, const InstancePaths& paths, const LoadOptions& options);

// What the incoming domain's XML says that the destination needs.
struct IncomingDomain {
    std::string uuid;                        // its UUID; empty when the XML has none
    std::optional<std::string> seed_target;  // the CD-ROM target ("hdc") holding its cloud-init seed; none: no seed attached
};

// Lock-and-load on the destination of a live migration of `domain`, as described above. A
// cloud-init seed attached to a context that arrives here anew is refused before anything is
// made (NotFound): the seed's files are only in the source's context, and libvirt copies no
// read-only disk, so the seed cannot be had here; the sentence says to eject it once cloud-init
// has run, or to use contexts on the shared storage.
[[nodiscard]] Result<PrepareOutcome> prepare_incoming(const Config& config, const InstancePaths& paths,
                                                      const IncomingDomain& domain, const LoadOptions& options);

// What after_release found.
struct Departure {
    bool migrated = false;     // the domain runs on another host now
    bool ran_here = false;     // this host's usage record said running: it migrated away from here,
                               // rather than a start or incoming migration here that never ran
    std::string to_host;       // that host
    std::filesystem::path kept_at;  // where a host-local context was moved aside; empty when none
    ArrivalSettled arrival;    // when not migrated: what became of an arrival mark
};

// On the host a domain stopped on: whether it migrated away (judged from the usage records of
// base `paths.base`, domain `uuid`), and if so, this host's usage record removed and a
// host-local context moved aside; if not, its arrival mark settled. Errors (logged by the
// caller, never failing anything): Io.
[[nodiscard]] Result<Departure> after_release(const Config& config, const InstancePaths& paths, std::string_view uuid);

}  // namespace appshare
