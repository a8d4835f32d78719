// The one qemu-img operation appshare still runs, with explicit formats (never probing):
// re-pointing an overlay at another copy of its base. Overlays are created natively
// (image/qcow2_overlay.hpp).
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string_view>

namespace appshare {

// Points `overlay` at another backing file with the same content (unsafe rebase: only the
// header changes). Used to switch an instance between identical shared and host-local bases.
[[nodiscard]] Result<void> qemu_img_rebase_unsafe(const std::filesystem::path& overlay,
                                                  const std::filesystem::path& backing,
                                                  std::string_view backing_format);

}  // namespace appshare
