#include "image/qcow2_header.hpp"

#include "base/small_file.hpp"

#include "base/unique_handle.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::uint32_t kMagic = 0x514649fbU;  // "QFI\xfb"
constexpr std::uint32_t kV2HeaderLength = 72;
constexpr std::uint32_t kV3MinHeaderLength = 104;
constexpr std::uint32_t kMinClusterBits = 9;
constexpr std::uint32_t kMaxClusterBits = 21;   // QEMU's 2 MiB limit
constexpr std::uint32_t kMaxBackingNameLength = 1023;
constexpr std::uint32_t kMaxBackingFormatLength = 15;  // QEMU keeps it in a 16-byte buffer

constexpr std::uint32_t kExtEnd = 0x00000000U;
constexpr std::uint32_t kExtBackingFormat = 0xe2792acaU;
constexpr std::uint32_t kExtDataFile = 0x44415441U;

std::uint32_t be32(std::span<const std::byte> b, std::size_t off)
{
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(b[off + i]);
    return v;
}

std::uint64_t be64(std::span<const std::byte> b, std::size_t off)
{
    return (std::uint64_t{be32(b, off)} << 32) | be32(b, off + 4);
}

std::string bytes_to_string(std::span<const std::byte> b, std::size_t off, std::size_t len)
{
    std::string s(len, '\0');
    if (len > 0) std::memcpy(s.data(), b.data() + off, len);
    return s;
}

std::string hex32(std::uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Errors about the image's content: "<origin> <what>".
Error refuse(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::UnsafeImage, std::string(origin) + " " + what);
}

Error damaged(std::string_view origin, const std::string& what)
{
    return refuse(origin, "has a damaged qcow2 header (" + what +
                              "); fetch or copy the image again, or recreate it with qemu-img.");
}

// Error for a structure that is valid in the file but lies beyond the bytes handed to the parser.
Error beyond_prefix(std::string_view origin, std::uint64_t avail, const std::string& what)
{
    return refuse(origin, "has " + what + " beyond its first " + std::to_string(avail) +
                              " bytes, further than appshare reads; rewrite the image with "
                              "'qemu-img convert -O qcow2' (default 64 KiB clusters).");
}

Error truncated(std::string_view origin, std::uint64_t file_size, const std::string& what)
{
    return refuse(origin, "is truncated: its " + std::to_string(file_size) + " bytes end inside " + what +
                              "; fetch or copy the image again.");
}

}  // namespace

Result<Qcow2Header> parse_qcow2_header(std::span<const std::byte> prefix, std::uint64_t file_size,
                                       std::string_view origin)
{
    // Only bytes that are both handed to us and inside the file count.
    const std::uint64_t avail = std::min<std::uint64_t>(prefix.size(), file_size);
    const auto b = prefix.first(static_cast<std::size_t>(avail));

    if (avail < 4) {
        if (file_size < 4) {
            return refuse(origin, "is too short to be a qcow2 image (" + std::to_string(file_size) +
                                      " bytes); fetch or copy the image again, or check the format "
                                      "the manifest declares.");
        }
        return beyond_prefix(origin, avail, "its qcow2 magic");
    }
    if (be32(b, 0) != kMagic) {
        return refuse(origin, "is not a qcow2 image (it does not start with the qcow2 magic "
                              "\"QFI\\xfb\"); check the file and the format the manifest declares "
                              "for it.");
    }
    if (avail < 8) {
        if (file_size < 8) return truncated(origin, file_size, "the qcow2 header");
        return beyond_prefix(origin, avail, "its qcow2 version");
    }

    Qcow2Header h;
    h.version = be32(b, 4);
    if (h.version == 1) {
        return refuse(origin, "is an old qcow (version 1) image, which appshare does not accept; "
                              "convert it with 'qemu-img convert -O qcow2' and update the manifest.");
    }
    if (h.version != 2 && h.version != 3) {
        return refuse(origin, "has qcow2 version " + std::to_string(h.version) +
                                  ", which appshare does not know (only 2 and 3); convert it with "
                                  "'qemu-img convert -O qcow2' and update the manifest.");
    }
    const std::uint32_t fixed_length = h.version == 2 ? kV2HeaderLength : kV3MinHeaderLength;
    if (avail < fixed_length) {
        if (file_size < fixed_length) return truncated(origin, file_size, "the qcow2 header");
        return beyond_prefix(origin, avail, "its qcow2 header");
    }

    const std::uint64_t backing_offset = be64(b, 8);
    const std::uint32_t backing_size = be32(b, 16);
    h.cluster_bits = be32(b, 20);
    h.virtual_size = be64(b, 24);
    h.crypt_method = be32(b, 32);

    if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits) {
        return damaged(origin, "cluster_bits " + std::to_string(h.cluster_bits) + " is outside 9..21");
    }
    const std::uint64_t cluster_size = std::uint64_t{1} << h.cluster_bits;
    if (h.virtual_size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return damaged(origin, "virtual size " + std::to_string(h.virtual_size) + " bytes is impossible");
    }
    if (h.crypt_method > 2) {
        return damaged(origin, "unknown encryption method " + std::to_string(h.crypt_method));
    }

    if (h.version == 2) {
        h.header_length = kV2HeaderLength;
    } else {
        h.incompatible_features = be64(b, 72);
        h.compatible_features = be64(b, 80);
        h.autoclear_features = be64(b, 88);
        const std::uint32_t refcount_order = be32(b, 96);
        h.header_length = be32(b, 100);
        if (refcount_order > 6) {
            return damaged(origin, "refcount_order " + std::to_string(refcount_order) + " is above 6");
        }
        if (h.header_length < kV3MinHeaderLength || h.header_length % 8 != 0 ||
            h.header_length > cluster_size) {
            return damaged(origin, "header_length " + std::to_string(h.header_length) +
                                       " is not a multiple of 8 between 104 and the cluster size");
        }
        if (h.header_length > avail) {
            if (h.header_length > file_size) return truncated(origin, file_size, "the qcow2 header");
            return beyond_prefix(origin, avail, "the end of its qcow2 header");
        }
        if (h.header_length > 104) h.compression_type = std::to_integer<std::uint8_t>(b[104]);
        const bool compression_bit = (h.incompatible_features & kQcow2IncompatCompression) != 0;
        if (compression_bit && h.compression_type == 0) {
            return damaged(origin, "the compression type bit is set but no compression type is recorded");
        }
        if (!compression_bit && h.compression_type != 0) {
            return damaged(origin, "a compression type is recorded but its feature bit is not set");
        }
        if ((h.incompatible_features & kQcow2IncompatExtendedL2) != 0 && h.cluster_bits < 14) {
            return damaged(origin, "extended L2 entries need clusters of at least 16 KiB");
        }
        h.external_data_file = (h.incompatible_features & kQcow2IncompatDataFile) != 0;
    }

    // Backing file name: after the header, inside the first cluster (as QEMU requires) and the file.
    if (backing_offset != 0) {
        if (backing_offset < h.header_length) {
            return damaged(origin, "the backing file name offset " + std::to_string(backing_offset) +
                                       " lies inside the fixed header");
        }
        if (backing_size > kMaxBackingNameLength) {
            return damaged(origin, "the backing file name is " + std::to_string(backing_size) +
                                       " bytes long, more than 1023");
        }
        if (backing_offset >= cluster_size || backing_size > cluster_size - backing_offset) {
            return damaged(origin, "the backing file name at offset " + std::to_string(backing_offset) +
                                       " does not lie inside the first cluster");
        }
        if (backing_offset > file_size || backing_size > file_size - backing_offset) {
            return truncated(origin, file_size, "the backing file name");
        }
        h.backing_file = backing_offset + backing_size <= avail
                             ? bytes_to_string(b, static_cast<std::size_t>(backing_offset), backing_size)
                             : std::string{};
    }

    // Header extensions: from the end of the header to the backing file name or the end of the
    // first cluster, 8-byte aligned, until the end marker.
    const std::uint64_t ext_end =
        backing_offset != 0 ? std::min(backing_offset, cluster_size) : cluster_size;
    std::uint64_t off = h.header_length;
    std::size_t count = 0;
    bool seen_data_file_ext = false;
    while (off < ext_end) {
        if (ext_end - off < 8) {
            return damaged(origin, "a header extension at offset " + std::to_string(off) +
                                       " runs past the end of the extension area");
        }
        if (off + 8 > file_size) return truncated(origin, file_size, "its header extensions");
        if (off + 8 > avail) return beyond_prefix(origin, avail, "header extensions");
        const std::uint32_t type = be32(b, static_cast<std::size_t>(off));
        const std::uint32_t len = be32(b, static_cast<std::size_t>(off) + 4);
        if (type == kExtEnd) break;
        if (++count > kQcow2MaxExtensions) {
            return damaged(origin, "it has more than " + std::to_string(kQcow2MaxExtensions) +
                                       " header extensions");
        }
        const std::uint64_t data = off + 8;
        if (len > ext_end - data) {
            return damaged(origin, "header extension " + hex32(type) + " at offset " + std::to_string(off) +
                                       " claims " + std::to_string(len) +
                                       " bytes, past the end of the extension area");
        }
        if (data + len > file_size) return truncated(origin, file_size, "its header extensions");
        if (data + len > avail) return beyond_prefix(origin, avail, "header extension " + hex32(type));

        if (type == kExtBackingFormat) {
            if (h.backing_format) return damaged(origin, "the backing format extension appears twice");
            if (len > kMaxBackingFormatLength) {
                return damaged(origin, "the backing format name is " + std::to_string(len) +
                                           " bytes long, more than 15");
            }
            h.backing_format = bytes_to_string(b, static_cast<std::size_t>(data), len);
        } else if (type == kExtDataFile) {
            if (seen_data_file_ext) return damaged(origin, "the external data file extension appears twice");
            seen_data_file_ext = true;
            h.data_file = bytes_to_string(b, static_cast<std::size_t>(data), len);
        }
        // Other extensions (feature names, bitmaps, encryption header pointer, unknown) are
        // skipped: they carry nothing appshare's checks rely on.
        off = data + ((std::uint64_t{len} + 7) & ~std::uint64_t{7});
    }

    if (h.external_data_file && !h.data_file) h.data_file = std::string{};
    return h;
}

Result<FilePrefix> read_file_prefix(const std::filesystem::path& file, std::size_t max_bytes)
{
    const SmallFile head = read_file_head(file, max_bytes, FollowLinks::Yes);
    switch (head.problem) {
        case FileProblem::None: break;
        case FileProblem::NotRegular:
            return make_error(ErrorCode::UnsafeImage, file.string() +
                                                          " is not a regular file; an image must be a plain "
                                                          "file: point to the image file itself.");
        case FileProblem::Missing:
        case FileProblem::Link:
            return make_error(ErrorCode::Io, "cannot open " + file.string() + ": " + head.why() +
                                                 "; check that the file exists and is readable.");
        case FileProblem::TooLarge:
        case FileProblem::Unreadable:
            return make_error(ErrorCode::Io, "cannot read " + file.string() + ": " + head.why() +
                                                 "; check the file and its storage.");
    }
    FilePrefix out;
    out.file_size = head.file_size;
    const auto bytes = std::as_bytes(std::span(head.text.data(), head.text.size()));
    out.bytes.assign(bytes.begin(), bytes.end());
    return out;
}

Result<FilePrefix> read_fd_prefix(int fd, std::size_t max_bytes, std::string_view origin)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return make_error(ErrorCode::Io, "cannot examine " + std::string(origin) + ": " + std::strerror(errno) + "; check the file and its storage.");
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafeImage, std::string(origin) + " is not a regular file; an image must be a plain file.");
    }
    std::string head;
    if (const int err = read_fd_head(fd, std::min<std::uint64_t>(max_bytes, static_cast<std::uint64_t>(st.st_size)), head); err != 0) {
        return make_error(ErrorCode::Io, "cannot read " + std::string(origin) + ": " + std::strerror(err) + "; check the file and its storage.");
    }
    FilePrefix out;
    out.file_size = static_cast<std::uint64_t>(st.st_size);
    const auto bytes = std::as_bytes(std::span(head.data(), head.size()));
    out.bytes.assign(bytes.begin(), bytes.end());
    return out;
}

Result<Qcow2Header> read_qcow2_header(const std::filesystem::path& file)
{
    auto prefix = read_file_prefix(file, kQcow2PrefixBytes);
    if (!prefix) return std::move(prefix).error();
    return parse_qcow2_header(prefix->bytes, prefix->file_size, file.string());
}

}  // namespace appshare
