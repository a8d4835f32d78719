// A native, untrusting reader of the qcow2 image header (QEMU docs/interop/qcow2.txt): the fixed
// header, the header extensions and the backing file name, read from the file's leading bytes
// with every offset and length checked against what was read and against the file size.
// It reports what the header says; deciding whether an image is acceptable is image_check's job.
#pragma once

#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// Incompatible feature bits (header bytes 72-79, version 3).
inline constexpr std::uint64_t kQcow2IncompatDirty = 1ULL << 0;
inline constexpr std::uint64_t kQcow2IncompatCorrupt = 1ULL << 1;
inline constexpr std::uint64_t kQcow2IncompatDataFile = 1ULL << 2;
inline constexpr std::uint64_t kQcow2IncompatCompression = 1ULL << 3;
inline constexpr std::uint64_t kQcow2IncompatExtendedL2 = 1ULL << 4;
// Every incompatible bit the specification defines (QEMU 7.2); any other bit is unknown.
inline constexpr std::uint64_t kQcow2IncompatKnown = (1ULL << 5) - 1;

struct Qcow2Header {
    std::uint32_t version = 0;             // 2 or 3
    std::uint64_t virtual_size = 0;        // bytes the guest sees
    std::uint32_t cluster_bits = 0;        // 9..21
    std::uint32_t crypt_method = 0;        // 0 none, 1 AES, 2 LUKS
    std::uint64_t incompatible_features = 0;  // version 3 only; 0 for version 2
    std::uint64_t compatible_features = 0;
    std::uint64_t autoclear_features = 0;
    std::uint8_t compression_type = 0;     // 0 zlib, 1 zstd (header byte 104 when present)
    // Present iff backing_file_offset != 0. Holds the name when it lies inside the bytes read;
    // an empty string when it lies (validly) beyond them.
    std::optional<std::string> backing_file;
    std::optional<std::string> backing_format;  // header extension 0xe2792aca
    // The external data file name from header extension 0x44415441; an empty string when only
    // the incompatible bit says there is an external data file and no name is recorded.
    std::optional<std::string> data_file;
    bool external_data_file = false;       // incompatible bit 2
    std::uint32_t header_length = 0;       // 72 for version 2
};

// How many leading bytes of a file the parser looks at: the default cluster size (64 KiB), which
// holds the header, its extensions and the backing file name of any image qemu-img makes by
// default. A header whose extensions run beyond these bytes is refused, not guessed at.
inline constexpr std::size_t kQcow2PrefixBytes = 65536;

// Parses the qcow2 header in `prefix`, the first bytes of a file of `file_size` bytes (normally
// min(kQcow2PrefixBytes, file_size) of them). Trusts nothing: checks the magic, version (2 or 3),
// cluster_bits (9..21), header_length (version 3: >= 104, multiple of 8, within the first cluster
// and the bytes read), crypt_method (0..2), refcount_order (<= 6), the compression type field,
// walks the header extensions with bounds checks (at most kQcow2MaxExtensions, known string
// extensions at most once) up to the end marker or the end of the extension area, and checks the
// backing file name (length <= 1023, inside the first cluster and the file). All arithmetic on
// offsets is overflow-free. Errors: UnsafeImage for anything that is not an acceptable qcow2
// header (including a file too short to hold one); messages name `origin`.
[[nodiscard]] Result<Qcow2Header> parse_qcow2_header(std::span<const std::byte> prefix,
                                                     std::uint64_t file_size,
                                                     std::string_view origin);

// Reads the first kQcow2PrefixBytes of `file` (plain open, following symlinks: the caller decides
// which paths are safe to open) and parses them with parse_qcow2_header, the path as origin.
// Errors: Io when the file cannot be opened or read, UnsafeImage as parse_qcow2_header.
[[nodiscard]] Result<Qcow2Header> read_qcow2_header(const std::filesystem::path& file);

// Cap on the number of header extensions walked.
inline constexpr std::size_t kQcow2MaxExtensions = 128;

// The leading bytes of a file and its size, as read by read_file_prefix.
struct FilePrefix {
    std::vector<std::byte> bytes;
    std::uint64_t file_size = 0;
};

// Opens `file` read-only, refuses anything but a regular file (UnsafeImage), and reads its first
// min(max_bytes, size) bytes. Errors: Io when it cannot be opened, examined or read.
[[nodiscard]] Result<FilePrefix> read_file_prefix(const std::filesystem::path& file, std::size_t max_bytes);

// The same from a descriptor the caller opened (a store file, checked through the descriptor it
// hashed); `origin` names it in messages.
[[nodiscard]] Result<FilePrefix> read_fd_prefix(int fd, std::size_t max_bytes, std::string_view origin);

}  // namespace appshare
