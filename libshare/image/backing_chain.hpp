// An image and the backing files below it, judged natively before anything is flattened
// (`appshare pack`, `capture`): every level is read with the rules of a shared base except that
// it may have a backing file, and each backing file must be one qemu-img would open exactly as
// read here — a plain local file with its format recorded — so no level is ever probed.
#pragma once

#include "image/image_check.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct ChainLevel {
    std::filesystem::path file;  // absolute
    std::string format;          // "qcow2" | "raw", as declared by the caller or the level above
    ImageFacts facts;
};

// Deepest chain accepted (QEMU itself allows some 100 levels; a real one is a handful).
inline constexpr std::size_t kMaxChainDepth = 64;

// Walks from `top` (declared `format`, never probed) down its backing files. Each level must
// pass check_image_file with BackingFile::Allow; a backing file must name a local file (not
// "json:" nor a protocol such as "nbd:": a ':' before any '/'), have its format recorded in the
// header (qcow2 or raw), exist as a regular file, not repeat a level, and the chain must end
// within kMaxChainDepth levels. A relative backing name is taken relative to the folder of the
// image naming it, as QEMU does. Errors: UnsafeImage naming the level and what to do, Io when a
// level cannot be read. The first element is `top`, the last the self-contained bottom.
[[nodiscard]] Result<std::vector<ChainLevel>> inspect_backing_chain(const std::filesystem::path& top,
                                                                    std::string_view format);

// The "json:{...}" image name that makes qemu-img open exactly `chain`: every level's driver
// and file given, the bottom one with no backing, so nothing is read from a header again or
// probed. A level of another format (a VMDK being imported, bundle/ovf_import.hpp) is opened
// with that driver and no backing either.
[[nodiscard]] std::string qemu_image_spec(const std::vector<ChainLevel>& chain);

// Writes the whole content of `chain` as one self-contained qcow2 (v3) at `output` (a new file
// the caller removes on failure) with `qemu-img convert`, stopping on Ctrl-C / SIGTERM (then
// Interrupted). Errors: Io with qemu-img's last line when it fails or cannot be started.
[[nodiscard]] Result<void> flatten_chain(const std::vector<ChainLevel>& chain, const std::filesystem::path& output);

}  // namespace appshare
