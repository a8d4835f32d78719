// A small ISO 9660 image (with Joliet and Rock Ridge, so long and lower-case names read back as
// written on Linux and elsewhere) made in memory with libisofs: what a cloud-init NoCloud seed
// is ("cidata" volume holding user-data, meta-data, network-config). Flat: files in the root
// folder only. Made reproducibly: every timestamp is fixed, so the same files give the same
// bytes.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct IsoMember {
    std::string name;     // one plain name: letters, digits, '.', '_', '-'
    std::string content;
};

// The image, or Internal when libisofs fails (out of memory), Usage for a bad volume id (1 to
// 32 characters of A-Z, a-z, 0-9, '_') or file name (1 to 64 letters, digits, '.', '_', '-').
[[nodiscard]] Result<std::string> make_iso9660_image(std::string_view volume_id, const std::vector<IsoMember>& files);

}  // namespace appshare
