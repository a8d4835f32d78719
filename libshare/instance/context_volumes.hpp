// <context_root>/.volumes: a folder holding one link per instance, "<name>.qcow2" ->
// "../<name>/disk.qcow2", so one libvirt directory pool (appshare-contexts, see
// virt/storage_pools.hpp) lists every instance's overlay, with its backing store, though each
// overlay lives in its own context folder (directory pools do not look into sub-folders).
// ".volumes" can never be an instance's folder: instance names start with a letter or digit.
// Only the command keeps the links (when it refreshes the pools); the hook never touches them.
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

inline constexpr std::string_view kContextVolumesFolder = ".volumes";

// <context_root>/.volumes
[[nodiscard]] std::filesystem::path context_volumes_dir(const std::filesystem::path& context_root);

struct VolumeLinkChanges {
    std::vector<std::string> added;    // link names made
    std::vector<std::string> removed;  // link names removed (their context is gone)
};

// Makes the links match the contexts: a link for every instance folder that holds an overlay,
// none for any other ("<name>.qcow2" links only; anything else in the folder is left alone).
// Creates the folder (0711) when missing; context_root must exist. Everything is reached without
// following links (base/dir_handle.hpp). The folder is not flushed: what a crash loses, the next
// call makes again. Errors: Io, UnsafePath.
[[nodiscard]] Result<VolumeLinkChanges> sync_context_volumes(const std::filesystem::path& context_root);

}  // namespace appshare
