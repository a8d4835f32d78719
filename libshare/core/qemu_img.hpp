// The qemu-img operations appshare needs, always with explicit formats (never probing).
#pragma once

#include "core/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace appshare {

// Creates a qcow2 overlay `overlay` of `virtual_size` bytes backed by `backing` (format
// recorded as `backing_format`). The backing file need not exist yet (-u), so a context can be
// made before its base is loaded.
[[nodiscard]] Result<void> qemu_img_create_overlay(const std::filesystem::path& overlay,
                                                   const std::filesystem::path& backing,
                                                   std::string_view backing_format, std::uint64_t virtual_size);

// Points `overlay` at another backing file with the same content (unsafe rebase: only the
// header changes). Used to switch an instance between identical shared and host-local bases.
[[nodiscard]] Result<void> qemu_img_rebase_unsafe(const std::filesystem::path& overlay,
                                                  const std::filesystem::path& backing,
                                                  std::string_view backing_format);

}  // namespace appshare
