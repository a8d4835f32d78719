#include "image/qcow2_overlay.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"
#include "base/unique_handle.hpp"
#include "base/write_all.hpp"
#include "image/qcow2_header.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::uint32_t kClusterBits = 16;
constexpr std::uint64_t kClusterSize = std::uint64_t{1} << kClusterBits;
constexpr std::uint64_t kL2Coverage = kClusterSize * (kClusterSize / 8);  // bytes one L1 entry maps: 512 MiB
constexpr std::uint32_t kRefcountOrder = 4;                                // 16-bit refcounts
constexpr std::uint32_t kHeaderLength = 112;  // version 3 fields up to compression_type, padded to 8
constexpr std::uint64_t kRefcountTableOffset = 1 * kClusterSize;
constexpr std::uint64_t kRefcountBlockOffset = 2 * kClusterSize;
constexpr std::uint64_t kL1TableOffset = 3 * kClusterSize;
constexpr std::size_t kMaxBackingName = 1023;

constexpr std::uint32_t kExtEnd = 0;
constexpr std::uint32_t kExtBackingFormat = 0xe2792acaU;
constexpr std::uint32_t kExtFeatureNames = 0x6803f857U;

// The feature name table qemu-img 7.2 writes into every image it creates (type 0 incompatible,
// 1 compatible, 2 autoclear; bit number; name padded with NULs to 46 bytes), in its order.
struct FeatureName {
    std::uint8_t type;
    std::uint8_t bit;
    const char* name;
};
constexpr std::array<FeatureName, 8> kFeatureNames{{
    {0, 0, "dirty bit"},
    {0, 1, "corrupt bit"},
    {0, 2, "external data file"},
    {0, 3, "compression type"},
    {0, 4, "extended L2 entries"},
    {1, 0, "lazy refcounts"},
    {2, 0, "bitmaps"},
    {2, 1, "raw external data"},
}};
constexpr std::size_t kFeatureNameEntry = 48;

void put_be(std::string& buf, std::size_t at, std::uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; --i) {
        buf[at + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
}

void put32(std::string& buf, std::size_t at, std::uint32_t v) { put_be(buf, at, v, 4); }
void put64(std::string& buf, std::size_t at, std::uint64_t v) { put_be(buf, at, v, 8); }

std::size_t pad8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

// Appends one header extension (type, length, data padded to 8 bytes) at `at`; returns the end.
std::size_t put_extension(std::string& buf, std::size_t at, std::uint32_t type, std::string_view data)
{
    put32(buf, at, type);
    put32(buf, at + 4, static_cast<std::uint32_t>(data.size()));
    // The end marker has no data, and an empty view's data() may be null: memcpy must not see it.
    if (!data.empty()) std::memcpy(buf.data() + at + 8, data.data(), data.size());
    return at + 8 + pad8(data.size());
}

std::string feature_name_table()
{
    std::string table(kFeatureNames.size() * kFeatureNameEntry, '\0');
    for (std::size_t i = 0; i < kFeatureNames.size(); ++i) {
        const auto& f = kFeatureNames[i];
        table[i * kFeatureNameEntry] = static_cast<char>(f.type);
        table[i * kFeatureNameEntry + 1] = static_cast<char>(f.bit);
        std::memcpy(table.data() + i * kFeatureNameEntry + 2, f.name, std::strlen(f.name));
    }
    return table;
}

// The header fields QEMU changes as an overlay is used (a resize, a refcount table that grows);
// every other byte of the header cluster is fixed by the backing name and format.
struct VariableFields {
    std::uint64_t size = 0;
    std::uint64_t l1_size = 0;
    std::uint64_t l1_table_offset = kL1TableOffset;
    std::uint64_t refcount_table_offset = kRefcountTableOffset;
    std::uint32_t refcount_table_clusters = 1;
};

// Cluster 0 as this writer (and qemu-img 7.2 with the same options) lays it out: header,
// extensions (backing format, feature names, end), the backing file name, zeros.
std::string header_cluster(std::string_view backing, std::string_view format, const VariableFields& v)
{
    std::string buf(kClusterSize, '\0');
    // Extensions, then the backing file name right after the end marker.
    std::size_t at = kHeaderLength;
    at = put_extension(buf, at, kExtBackingFormat, format);
    at = put_extension(buf, at, kExtFeatureNames, feature_name_table());
    at = put_extension(buf, at, kExtEnd, {});
    const std::size_t backing_offset = at;
    std::memcpy(buf.data() + backing_offset, backing.data(), backing.size());

    buf.replace(0, 4, "QFI\xfb", 4);
    put32(buf, 4, 3);                                       // version
    put64(buf, 8, backing_offset);                          // backing_file_offset
    put32(buf, 16, static_cast<std::uint32_t>(backing.size()));  // backing_file_size
    put32(buf, 20, kClusterBits);
    put64(buf, 24, v.size);
    put32(buf, 32, 0);                                      // crypt_method: none
    put32(buf, 36, static_cast<std::uint32_t>(v.l1_size));
    put64(buf, 40, v.l1_table_offset);
    put64(buf, 48, v.refcount_table_offset);
    put32(buf, 56, v.refcount_table_clusters);
    put32(buf, 60, 0);                                      // nb_snapshots
    put64(buf, 64, 0);                                      // snapshots_offset
    put64(buf, 72, 0);                                      // incompatible_features
    put64(buf, 80, 0);                                      // compatible_features
    put64(buf, 88, 0);                                      // autoclear_features
    put32(buf, 96, kRefcountOrder);
    put32(buf, 100, kHeaderLength);
    buf[104] = 0;                                           // compression_type: zlib (+7 bytes padding)
    return buf;
}

// The end of the header's bytes in cluster 0 (its backing file name's end).
std::size_t header_end(std::string_view backing, std::string_view format)
{
    return kHeaderLength + 8 + pad8(format.size()) + 8 + pad8(kFeatureNames.size() * kFeatureNameEntry) + 8 +
           backing.size();
}

// Clusters 0-2 (header, refcount table, refcount block) of an overlay whose L1 table of
// `l1_size` entries starts at cluster 3.
std::string metadata_clusters(std::string_view backing, std::string_view format, std::uint64_t size,
                              std::uint64_t l1_size)
{
    VariableFields v;
    v.size = size;
    v.l1_size = l1_size;
    std::string buf = header_cluster(backing, format, v);
    buf.resize(3 * kClusterSize, '\0');
    // One refcount block holds every refcount: 3 + at most 512 L1 clusters <= 32768 entries.
    put64(buf, kRefcountTableOffset, kRefcountBlockOffset);
    const std::uint64_t l1_clusters = (l1_size * 8 + kClusterSize - 1) / kClusterSize;
    for (std::uint64_t c = 0; c < 3 + l1_clusters; ++c) put_be(buf, kRefcountBlockOffset + c * 2, 1, 2);
    return buf;
}

std::uint64_t get_be(std::string_view buf, std::size_t at, int bytes)
{
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(buf[at + static_cast<std::size_t>(i)]);
    return v;
}

// The backing name and format an overlay may record (UnsafeImage otherwise).
Result<void> check_backing(const std::filesystem::path& overlay, std::string_view name, std::string_view format)
{
    if (name.empty() || name.size() > kMaxBackingName) {
        return make_error(ErrorCode::UnsafeImage, "cannot point the overlay " + overlay.string() + " at a backing file name \"" +
                                                      printable(name) + "\" of " + std::to_string(name.size()) +
                                                      " bytes: qcow2 allows 1 to 1023; keep the base under a shorter path.");
    }
    if (format != "qcow2" && format != "raw") {
        return make_error(ErrorCode::UnsafeImage, "cannot point the overlay " + overlay.string() + " at backing format \"" +
                                                      printable(format) + "\": it is not supported; use a qcow2 or raw base image.");
    }
    return ok();
}

Error rewrite_io_error(const std::string& what, const std::filesystem::path& overlay, int err)
{
    return make_error(ErrorCode::Io, "cannot " + what + " the overlay " + overlay.string() + ": " + std::strerror(err) +
                                         "; check the storage and permissions there.");
}

}  // namespace

Result<void> create_qcow2_overlay(const std::filesystem::path& overlay, const std::filesystem::path& backing,
                                  std::string_view backing_format, std::uint64_t virtual_size, SyncBatch* batch)
{
    const std::string& name = backing.native();
    if (virtual_size == 0 || virtual_size > kQcow2OverlayMaxVirtualSize) {
        return make_error(ErrorCode::UnsafeImage, "cannot create the overlay " + overlay.string() + " of " +
                                                      std::to_string(virtual_size) +
                                                      " bytes: a qcow2 image with 64 KiB clusters holds 1 byte to 2 PiB; "
                                                      "use a base image of a supported size.");
    }
    if (auto c = check_backing(overlay, name, backing_format); !c) return c;
    const std::uint64_t size = (virtual_size + 511) & ~std::uint64_t{511};
    const std::uint64_t l1_size = (size + kL2Coverage - 1) / kL2Coverage;

    // Refuse at once when the name is taken (commit_no_replace checks again, race-free).
    if (const auto st = stat_no_links(overlay); st && *st) {
        return make_error(ErrorCode::AlreadyExists, overlay.string() + " already exists; choose another name or remove it first.");
    }

    auto tmp = TempFile::create_beside(overlay, 0600);  // guest data: private whatever the umask
    if (!tmp) return std::move(tmp).error();
    if (auto w = tmp->write(metadata_clusters(name, backing_format, size, l1_size)); !w) return w;
    // The L1 table is all zeros: extend the file over it instead of writing them.
    if (::ftruncate(tmp->fd(), static_cast<off_t>(kL1TableOffset + l1_size * 8)) != 0) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot extend " + tmp->path().string() + ": " + std::strerror(err) +
                                             (err == ENOSPC ? "; free space on that filesystem and try again."
                                                            : "; check the path and the storage."));
    }
    return tmp->commit_no_replace(0600, batch);
}

Result<void> rewrite_qcow2_backing(const std::filesystem::path& overlay, const std::filesystem::path& backing,
                                   std::string_view backing_format)
{
    const std::string& name = backing.native();
    if (auto c = check_backing(overlay, name, backing_format); !c) return c;
    UniqueFd fd(open_no_links(AT_FDCWD, overlay, O_RDWR));
    if (!fd.valid()) {
        if (errno == ELOOP) {
            return make_error(ErrorCode::UnsafeImage, "the overlay " + overlay.string() +
                                                          " is or passes through a symbolic link; appshare never follows one there, reinstall the instance.");
        }
        return rewrite_io_error("open", overlay, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return rewrite_io_error("inspect", overlay, errno);
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafeImage, "the overlay " + overlay.string() +
                                                      " is not a regular file; appshare will not rewrite it, reinstall the instance.");
    }
    // One cluster, read through a bounded read of the descriptor that was checked.
    std::string head;
    if (const int err = read_fd_head(fd.get(), kClusterSize, head); err != 0) return rewrite_io_error("read", overlay, err);
    const auto refuse = [&](const std::string& why) {
        return make_error(ErrorCode::UnsafeImage, "the overlay " + overlay.string() + " " + why +
                                                      "; appshare rewrites only headers it wrote, reinstall the instance.");
    };
    if (head.size() < kClusterSize) return refuse("is shorter than its header cluster");
    auto header = parse_qcow2_header(std::as_bytes(std::span(head.data(), head.size())),
                                     static_cast<std::uint64_t>(st.st_size), overlay.string());
    if (!header) return std::move(header).error();
    if (!header->backing_file || !header->backing_format) return refuse("has no backing file with a recorded format");
    VariableFields v;
    v.size = get_be(head, 24, 8);
    v.l1_size = get_be(head, 36, 4);
    v.l1_table_offset = get_be(head, 40, 8);
    v.refcount_table_offset = get_be(head, 48, 8);
    v.refcount_table_clusters = static_cast<std::uint32_t>(get_be(head, 56, 4));
    const std::string& old_name = *header->backing_file;
    const std::string& old_format = *header->backing_format;
    if (old_name.empty() || head != header_cluster(old_name, old_format, v)) {
        return refuse("has a header laid out otherwise than appshare writes it (features, extensions or snapshots)");
    }
    if (old_name == name && old_format == backing_format) return ok();
    const std::string fresh = header_cluster(name, backing_format, v);
    const std::size_t end = std::max(header_end(old_name, old_format), header_end(name, backing_format));
    // pread left the offset at 0: the header is written over itself, in place.
    if (const int err = write_all(fd.get(), std::string_view(fresh).substr(0, end)); err != 0) {
        return rewrite_io_error("write", overlay, err);
    }
    if (::fsync(fd.get()) != 0) return rewrite_io_error("flush", overlay, errno);
    return ok();
}

}  // namespace appshare
