// The qemu-img operations appshare needs, always with explicit formats (never probing).
// Creating an overlay is done natively; rebasing still runs qemu-img.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace appshare {

// Creates a qcow2 overlay `overlay` of `virtual_size` bytes backed by `backing` (format
// recorded as `backing_format`). The backing file need not exist yet, so a context can be made
// before its base is loaded. No longer spawns qemu-img: it is create_qcow2_overlay
// (core/qcow2_overlay.hpp), which writes the bytes `qemu-img create -f qcow2 -F <fmt> -b <backing>
// -u` writes. Errors: AlreadyExists when `overlay` exists (it is never overwritten); Io for
// anything else, as when qemu-img did it: a size, backing name or format qcow2 cannot record
// (create_qcow2_overlay's UnsafeImage), or a file that cannot be written.
[[nodiscard]] Result<void> qemu_img_create_overlay(const std::filesystem::path& overlay,
                                                   const std::filesystem::path& backing,
                                                   std::string_view backing_format, std::uint64_t virtual_size);

// Points `overlay` at another backing file with the same content (unsafe rebase: only the
// header changes). Used to switch an instance between identical shared and host-local bases.
[[nodiscard]] Result<void> qemu_img_rebase_unsafe(const std::filesystem::path& overlay,
                                                  const std::filesystem::path& backing,
                                                  std::string_view backing_format);

}  // namespace appshare
