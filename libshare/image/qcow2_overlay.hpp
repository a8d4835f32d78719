// A native writer of fresh, empty qcow2 overlays (QEMU docs/interop/qcow2.txt), so installing an
// instance does not spawn qemu-img, and of their backing pointer, so the root-run hook never runs
// qemu-img on a header a guest's QEMU could have written. The bytes are those `qemu-img create -f
// qcow2 -o cluster_size=65536 -F <fmt> -b <backing> -u <overlay> <size>` (QEMU 7.2) writes.
#pragma once

#include "base/result.hpp"
#include "base/sync_batch.hpp"

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
// the file ending where the L1 table ends. The file gets mode 0600 whatever the umask (it holds
// the guest's data; libvirt's DAC driver hands it to QEMU's user at start and back at stop) and
// appears complete or not at all (written beside it, flushed, linked into place; with a `batch`,
// the flushing is left to it: base/sync_batch.hpp).
// Errors: UnsafeImage for a virtual_size of 0 or above kQcow2OverlayMaxVirtualSize, an empty backing
// path or one longer than 1023 bytes, a format other than "qcow2" or "raw"; AlreadyExists when
// `overlay` exists (it is left untouched); Io when the file cannot be written.
[[nodiscard]] Result<void> create_qcow2_overlay(const std::filesystem::path& overlay,
                                                const std::filesystem::path& backing,
                                                std::string_view backing_format, std::uint64_t virtual_size,
                                                SyncBatch* batch = nullptr);

// Points `overlay`, an overlay create_qcow2_overlay made (or qemu-img with the options above), at
// `backing` with format `backing_format`, as `qemu-img rebase -u` would: only the header changes,
// so the new backing file must have the same content. The file is opened without following a
// link and checked on the descriptor (a regular file), its header cluster read with one bounded
// read and parsed as untrusted bytes, and refused unless it is exactly what this writer lays out
// for its current backing name and format, apart from the fields QEMU itself changes (virtual
// size, L1 and refcount table positions): no other extension, feature bit, snapshot or stray
// byte. The header is then rewritten in place and flushed. Nothing is written when it already
// names `backing` and `backing_format`. Errors: UnsafeImage for a link, a file that is not
// regular, a header that is not such an overlay's, a backing name or format create_qcow2_overlay
// refuses; Io when the file cannot be opened, read, written or flushed.
[[nodiscard]] Result<void> rewrite_qcow2_backing(const std::filesystem::path& overlay,
                                                 const std::filesystem::path& backing,
                                                 std::string_view backing_format);

}  // namespace appshare
