// How much storage sharing saves: N instances on one base cost the base once plus N contexts,
// where full copies would cost N bases. Pure arithmetic plus one disk-usage walk.
#pragma once

#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace appshare {

// One instance as the report sees it.
struct InstanceUsage {
    std::string base_sha256;
    std::uint64_t base_bytes = 0;     // the base file's size
    std::uint64_t context_bytes = 0;  // bytes its context occupies on disk
};

// One base and the instances that use it.
struct BaseUsage {
    std::string sha256;
    std::uint64_t base_bytes = 0;
    std::size_t instances = 0;
    std::uint64_t context_bytes = 0;     // sum over its instances
    std::uint64_t full_copies_bytes = 0; // instances × base_bytes
    std::uint64_t used_bytes = 0;        // base_bytes + context_bytes
    std::int64_t saved_bytes = 0;        // full_copies_bytes − used_bytes (negative for one instance)
};

struct StorageReport {
    std::vector<BaseUsage> bases;  // ordered by digest
    std::size_t instances = 0;
    std::uint64_t full_copies_bytes = 0;
    std::uint64_t used_bytes = 0;
    std::int64_t saved_bytes = 0;
    double ratio = 0.0;  // full_copies_bytes / used_bytes; 0 when nothing is used
};

// Groups instances by base digest and adds up: saved = N × base − (base + Σ contexts) per base.
// The base size of a group is the first instance's (all of a digest have the same size).
[[nodiscard]] StorageReport storage_report(std::span<const InstanceUsage> instances);

// Bytes on disk (st_blocks × 512) of `dir` and everything below it, without following symlinks
// (a link counts as the link itself). Errors: Io when `dir` cannot be read.
[[nodiscard]] Result<std::uint64_t> disk_usage_bytes(const std::filesystem::path& dir);

}  // namespace appshare
