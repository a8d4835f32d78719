// appshare's safety rules for a shared base image, applied to the image's leading bytes and the
// format its manifest declares. A shared base must be self-contained and readable by every
// instance: no backing file, no external data file, no encryption, no qcow2 feature this code
// does not know, and content that really is the declared format. Never probes: the declared
// format decides how the bytes are read; other formats' magics only turn into refusals.
#pragma once

#include "image/qcow2_header.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace appshare {

// What the check learned about an accepted image.
struct ImageFacts {
    std::string format;                 // "qcow2" or "raw", as declared (and verified)
    std::uint64_t virtual_size = 0;     // qcow2: from the header; raw: the file size
    std::uint64_t file_size = 0;
    std::optional<Qcow2Header> qcow2;   // set for qcow2
};

// How many leading bytes check_image_prefix needs (at most; fewer when the file is shorter).
inline constexpr std::size_t kImageCheckPrefixBytes = kQcow2PrefixBytes;

// The name of the disk image format whose magic `prefix` starts with ("qcow2", "qcow", "QED",
// "VMDK", "VDI", "VHDX", "VHD", "LUKS", "Parallels", "Bochs"), or nothing for content without a
// known header (raw data). Only recognises; never used to choose how to open an image.
[[nodiscard]] std::optional<std::string> detect_image_magic(std::span<const std::byte> prefix);

// Applies the rules to `prefix`, the first min(kImageCheckPrefixBytes, file_size) bytes of an
// image file of `file_size` bytes that the manifest declares as `declared_format`:
//  - "qcow2": the header must parse (parse_qcow2_header) and have no backing file, no external
//    data file (incompatible bit 2 or data-file extension), no encryption, no dirty or corrupt
//    bit (run 'qemu-img check -r all'), no unknown incompatible bit (compression type and
//    extended L2 are fine) and a known compression type (zlib, zstd);
//  - "raw": the content must not start with another image format's magic, and must not be empty;
//    the virtual size is the file size;
//  - anything else: refused with BadManifest (the manifest allows only qcow2 and raw).
// Errors: UnsafeImage for a refused image, BadManifest for an unknown declared format, Internal
// when fewer bytes than required are given. Messages name `origin` and say what to do.
// BackingFile::Allow lifts the one rule about a backing file, for a level of a chain that is about
// to be flattened (image/backing_chain.hpp judges the backing file itself); a base never has one.
enum class BackingFile { Refuse, Allow };
[[nodiscard]] Result<ImageFacts> check_image_prefix(std::span<const std::byte> prefix, std::uint64_t file_size,
                                                    std::string_view declared_format, std::string_view origin,
                                                    BackingFile backing = BackingFile::Refuse);

// Reads the first kImageCheckPrefixBytes of `file` (a regular file; plain open) and applies
// check_image_prefix with the path as origin. Errors: Io when it cannot be read, else as above.
[[nodiscard]] Result<ImageFacts> check_image_file(const std::filesystem::path& file,
                                                  std::string_view declared_format,
                                                  BackingFile backing = BackingFile::Refuse);

// The same for a descriptor the caller opened and will go on using (a store file is checked
// through the descriptor it hashed and publishes); `origin` names it in messages.
[[nodiscard]] Result<ImageFacts> check_image_fd(int fd, std::string_view declared_format, std::string_view origin);

}  // namespace appshare
