// The host-local context an instance left behind when it live-migrated away: never deleted at
// the source's `release` (a stale "running" record of a dead destination can make an ordinary
// stop look like a migration away, and a source that keeps its definition would otherwise
// start on a new empty overlay), but moved aside in one rename within the context root:
//
//   <context_root>/.migrated.<NAME>.<UUID>/   the former <context_root>/<NAME>/, as it was,
//                                              plus `migrated-to`: the host it migrated to
//
// (a name no instance can have: instance names start with a letter or digit). What then:
//   - a start here of an instance named NAME that has no overlay is refused with one sentence
//     naming the host, the kept context and how to put it back (refuse_start_if_migrated);
//   - a migration of the same domain back here that makes its context anew (the data comes
//     from the migration) discards the kept copy (discard_migrated_context);
//   - `appshare gc` removes it once NAME is not defined here and a usage record of a live host
//     shows the same domain (UUID) running or defined there (instance/garbage_collect.hpp);
//   - `appshare list` names each one (list_migrated_contexts).
#pragma once

#include "base/result.hpp"
#include "instance/context.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct MigratedContext {
    std::string name;            // the instance's name
    std::string uuid;            // its domain UUID
    std::string to_host;         // where it migrated; empty when not recorded
    std::filesystem::path dir;   // the kept context
    std::uint64_t bytes = 0;     // st_blocks × 512 of it and all in it
};

// The folder name a context of domain `name` (UUID `uuid`) is moved to.
[[nodiscard]] std::string migrated_context_name(std::string_view name, std::string_view uuid);

// Moves context.dir (directly inside `context_root`) aside, recording `to_host` in it. Errors:
// AlreadyExists when a kept copy of the same domain is there already, UnsafePath, Io; on any
// error the context stays where it was.
[[nodiscard]] Result<MigratedContext> move_context_aside(const std::filesystem::path& context_root,
                                                         const ContextLayout& context, std::string_view name,
                                                         std::string_view uuid, std::string_view to_host);

// Every kept context in `context_root` (none when it does not exist). Errors: Io.
[[nodiscard]] Result<std::vector<MigratedContext>> list_migrated_contexts(const std::filesystem::path& context_root);

// Refuses the start of instance `name` when it has no overlay and a context of it was moved
// aside: NotFound, one sentence naming the host, the kept context and the `mv` that puts it
// back. Errors: NotFound, Io.
[[nodiscard]] Result<void> refuse_start_if_migrated(const std::filesystem::path& context_root, const ContextLayout& context,
                                                    std::string_view name);

// Removes the kept context of domain `name` with UUID `uuid`, if there is one; true if it did.
[[nodiscard]] Result<bool> discard_migrated_context(const std::filesystem::path& context_root, std::string_view name,
                                                    std::string_view uuid);

}  // namespace appshare
