// A native writer of fresh, empty qcow2 overlays (QEMU docs/interop/qcow2.txt), so installing an
// instance does not spawn qemu-img. The bytes are those `qemu-img create -f qcow2 -o
// cluster_size=65536 -F <fmt> -b <backing> -u <overlay> <size>` (QEMU 7.2) writes.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace appshare {

// The largest virtual size a qcow2 image with 64 KiB clusters may have, as QEMU enforces it: an
// L1 table of at most 32 MiB (4 Mi entries, each mapping 512 MiB), i.e. 2 PiB.
inline constexpr std::uint64_t kQcow2OverlayMaxVirtualSize = std::uint64_t{1} << 51;

// Creates `overlay` (must not exist): an empty qcow2 v3 image of `virtual_size` bytes, rounded up
// to a multiple of 512 as qemu-img does, whose backing file is `backing` (recorded as given, not
// opened: it need not exist yet) with format `backing_format`. Layout, as qemu-img makes it:
// cluster 0 header (version 3, 64 KiB clusters, 16-bit refcounts, zlib, no features) with the
// backing format and feature name table extensions and the backing file name; cluster 1 the
// refcount table; cluster 2 the refcount block; clusters 3.. the all-zero L1 table (left sparse),
// the file ending where the L1 table ends. The file gets mode 0666 minus the umask (as qemu-img)
// and appears complete or not at all (written beside it, flushed, linked into place).
// Errors: UnsafeImage for a virtual_size of 0 or above kQcow2OverlayMaxVirtualSize, an empty backing
// path or one longer than 1023 bytes, a format other than "qcow2" or "raw"; AlreadyExists when
// `overlay` exists (it is left untouched); Io when the file cannot be written.
[[nodiscard]] Result<void> create_qcow2_overlay(const std::filesystem::path& overlay,
                                                const std::filesystem::path& backing,
                                                std::string_view backing_format, std::uint64_t virtual_size);

}  // namespace appshare
